# The English lexicon of the corpus grammar (data/make_corpus.py): common words
# grouped by what they can do in a sentence. Nouns carry a semantic class so
# that verbs pick plausible objects ("eat" takes food, "read" takes texts).
# Irregular forms are written out ("man/men", "go:went:gone"); regular ones are
# derived by make_corpus.py. Words Apertium does not know are dropped at run
# time, so a word here that it lacks costs nothing but coverage.

def words(text):
    return text.split()

NOUNS = {
    "person": words("""
        man/men woman/women child/children boy girl baby teacher doctor nurse student
        friend brother sister mother father son daughter uncle aunt cousin neighbour
        farmer driver writer singer dancer painter player worker king queen prince
        princess soldier police_officer judge lawyer cook baker waiter pilot sailor
        guest stranger visitor tourist customer owner manager boss leader artist
        scientist engineer actor actress musician poet priest minister president
        doctor grandmother grandfather husband wife/wives family/families person/people
        patient reader traveller hunter fisherman/fishermen thief/thieves neighbor
        clerk secretary/secretaries officer captain guard author journalist
        lady/ladies gentleman/gentlemen girlfriend boyfriend partner colleague classmate
        child/children teenager adult neighbour shopkeeper mechanic carpenter plumber
        gardener dentist surgeon professor pupil friend host hero/heroes villain
        champion winner loser runner swimmer climber photographer designer editor
        banker merchant servant master slave citizen villager farmer shepherd
        """),
    "animal": words("""
        dog cat horse cow pig sheep/sheep goat bird chicken duck fish/fish mouse/mice
        rabbit lion tiger bear wolf/wolves fox elephant monkey snake frog bee
        butterfly/butterflies spider horse donkey camel deer/deer owl eagle whale
        dolphin shark turtle insect ant puppy/puppies kitten parrot crow pigeon swan
        goose/geese bull calf/calves lamb rat squirrel bat zebra giraffe kangaroo
        penguin crocodile lizard worm fly/flies mosquito/mosquitoes
        """),
    "object": words("""
        book letter newspaper magazine picture photo map ticket key door window table
        chair bed desk lamp clock watch phone computer camera radio television box bag
        basket bottle cup glass/glasses plate knife/knives fork spoon pot pan bowl
        shirt dress coat hat shoe sock glove jacket skirt ring necklace umbrella
        pen pencil paper notebook card gift present toy ball doll game bicycle car bus
        train boat ship plane truck wheel engine machine tool hammer rope ladder
        bucket brush mirror towel blanket pillow carpet curtain wall roof floor stair
        gate fence bridge tower stone rock flower tree leaf/leaves branch seed plant
        candle coin wallet purse envelope stamp song story/stories poem message
        question/questions answer report list photograph painting statue flag
        guitar piano violin drum sofa shelf/shelves cupboard drawer sink oven fridge
        stove kettle teapot jar tin can bin sack suitcase backpack belt tie scarf
        boot sandal trousers jeans sweater uniform button needle thread scissors
        screen keyboard printer battery/batteries cable lamp bulb switch wire
        helmet mask sword shield gun arrow bow net cage nest tent flashlight
        compass telescope microscope clock calendar diary/diaries album
        """),
    "text": words("""
        book letter newspaper magazine story/stories poem message report list note
        novel article email
        """),
    "food": words("""
        bread apple orange banana cake cheese egg soup salad sandwich pizza potato/potatoes
        tomato/tomatoes carrot onion meat chicken fish/fish rice pasta cookie pie
        milk water coffee tea juice wine beer sugar salt butter chocolate fruit
        vegetable lemon grape strawberry/strawberries cherry/cherries peach/peaches
        pear plum melon watermelon pineapple mango/mangoes nut bean pea corn
        cabbage lettuce garlic pepper mushroom honey jam cream yoghurt sausage
        ham bacon steak lamb beef pork biscuit bun pancake omelette
        """),
    "place": words("""
        house home school church hospital office shop store market bank library museum
        park garden street road city/cities town village country/countries forest
        river lake sea beach mountain hill island field farm station airport hotel
        restaurant kitchen bedroom bathroom room classroom factory prison castle
        palace theatre cinema stadium zoo square bridge harbour desert valley
        university/universities college garage yard cellar attic hall corridor
        balcony/balconies pool gym bakery/bakeries pharmacy/pharmacies post_office
        supermarket café bar club port coast cave jungle meadow pond stream
        path avenue neighbourhood suburb capital continent world planet moon
        """),
    "abstract": words("""
        idea plan problem answer question truth lie secret dream hope fear news/news
        money time work life/lives love music art history/histories language
        lesson rule law/laws peace war freedom power game story/stories advice
        information mistake decision chance change choice reason result future
        joke promise opinion fact memory/memories feeling thought plan project
        problem solution success failure danger trouble pain luck health
        beauty wisdom knowledge science religion culture tradition holiday/holidays
        party/parties meeting journey trip adventure accident crime game match
        """),
}

# Proper names, used as subjects and objects without a determiner.
NAMES = words("""
    John Mary Peter Paul Anna Maria David Michael Sarah Laura Thomas Robert Elizabeth
    James Emma Lucy Carlos Juan Pedro Sofia Elena Daniel George Susan Alice Tom
""")

# Adjectives (attributive before the noun, or after a form of "be").
ADJECTIVES = words("""
    big small large little tall short long old young new good bad happy sad angry
    tired hungry thirsty rich poor beautiful ugly pretty strong weak fast slow hot
    cold warm cool dark bright clean dirty quiet loud easy difficult hard soft heavy
    light empty full cheap expensive busy free kind cruel brave friendly funny
    serious strange famous important interesting boring dangerous safe wet dry
    sick healthy clever stupid honest polite rude lazy careful careless nervous calm
    proud lonely lucky ready sure wrong right simple modern ancient beautiful
    wonderful terrible horrible excellent perfect fresh sweet bitter sour delicious
    red blue green yellow black white brown grey orange pink purple golden
    wooden round square narrow wide deep high low thick thin fat poor private public
    foreign local national quick gentle wild sharp smooth rough fine huge tiny
    broken open closed real false useful useless favourite popular
    angry afraid alive asleep awake bored busy cheerful clumsy comfortable curious
    dangerous elegant empty enormous fair fancy fierce fragile generous gorgeous
    grateful guilty handsome helpful hopeful innocent jealous magnificent mysterious
    naughty noisy obedient patient pleasant powerful precious quiet rare ripe
    sensible shy silent silly sleepy smart sticky strict sudden tender tidy tough
    ugly unhappy unusual upset violent warm weird wise worried young tasty salty
    spicy frozen raw cooked purple silver plastic metal glass cotton woollen
""")

ADVERBS = words("""
    quickly slowly carefully quietly loudly happily sadly badly well easily suddenly
    finally often always never sometimes usually rarely already again soon today
    yesterday tomorrow now here there everywhere early late together alone really
    certainly probably perhaps gently politely angrily proudly calmly nervously
    softly badly seriously honestly secretly patiently eagerly bravely kindly
    rudely silently clearly quietly freely regularly immediately
""")

# Adverbs of time that can end a clause in any tense.
TIME_ADVERBS = words("today now again together alone early late here there everywhere")

# Prepositions that Apertium translates sensibly with a following noun phrase.
PREPOSITIONS = words("in on under behind with without for from to into through across between after before during near")

# Verbs. Each entry: forms, then the object classes it takes ("-" = intransitive).
# Forms: "base" (regular) or "base:past:participle" (irregular). Regular
# verbs ending consonant-vowel-consonant that double their last letter are in
# DOUBLING.
VERBS = [
    # transitive
    ("eat:ate:eaten", "food"), ("drink:drank:drunk", "food"), ("cook", "food"),
    ("buy:bought:bought", "object food text"), ("sell:sold:sold", "object food"),
    ("read:read:read", "text"), ("write:wrote:written", "text"), ("open", "object"),
    ("close", "object"), ("break:broke:broken", "object"), ("find:found:found", "object person animal"),
    ("lose:lost:lost", "object"), ("see:saw:seen", "object person animal place"),
    ("watch", "person animal"), ("love", "person animal food place"), ("like", "person animal food object place"),
    ("hate", "person food"), ("want", "object food"), ("need", "object food abstract"),
    ("carry", "object"), ("bring:brought:brought", "object food"), ("take:took:taken", "object"),
    ("give:gave:given", "object"), ("send:sent:sent", "text object"), ("help", "person"),
    ("visit", "person place"), ("call", "person"), ("meet:met:met", "person"),
    ("know:knew:known", "person place abstract"), ("teach:taught:taught", "person"),
    ("follow", "person animal"), ("remember", "person place abstract"), ("forget:forgot:forgotten", "object abstract"),
    ("understand:understood:understood", "person abstract"), ("paint", "object"),
    ("clean", "object place"), ("wash", "object"), ("fix", "object"), ("build:built:built", "object place"),
    ("draw:drew:drawn", "object animal"), ("hold:held:held", "object"), ("keep:kept:kept", "object"),
    ("leave:left:left", "object place"), ("catch:caught:caught", "animal object"), ("feed:fed:fed", "animal person"),
    ("kill", "animal"), ("hide:hid:hidden", "object"), ("show:showed:shown", "object"),
    ("use", "object"), ("prefer", "food object"), ("choose:chose:chosen", "object food"),
    ("explain", "abstract"), ("answer", "text abstract"), ("accept", "abstract"),
    ("change", "abstract"), ("finish", "abstract"), ("start", "abstract"), ("pay:paid:paid", "person"),
    ("thank", "person"), ("kiss", "person"), ("hear:heard:heard", "person animal"),
    ("cut:cut:cut", "food object"), ("move", "object"), ("pull", "object"), ("push", "object"),
    ("steal:stole:stolen", "object"), ("protect", "person animal place"), ("destroy", "object place"),
    # intransitive
    ("sleep:slept:slept", "-"), ("run:ran:run", "-"), ("walk", "-"), ("swim:swam:swum", "-"),
    ("dance", "-"), ("sing:sang:sung", "-"), ("laugh", "-"), ("cry", "-"), ("smile", "-"),
    ("work", "-"), ("wait", "-"), ("arrive", "-"), ("travel", "-"), ("play", "-"),
    ("live", "-"), ("die", "-"), ("fall:fell:fallen", "-"), ("sit:sat:sat", "-"),
    ("stand:stood:stood", "-"), ("jump", "-"), ("speak:spoke:spoken", "-"), ("listen", "-"),
    ("rest", "-"), ("study", "-"), ("come:came:come", "-"), ("go:went:gone", "-"),
    ("shout", "-"), ("climb", "-"), ("fly:flew:flown", "-"), ("smoke", "-"), ("pray", "-"),
    ("cough", "-"), ("sneeze", "-"), ("wake:woke:woken", "-"), ("return", "-"), ("complain", "-"),
    ("fight:fought:fought", "-"), ("win:won:won", "-"), ("lie:lay:lain", "-"), ("hurry", "-"),
    # more transitive verbs
    ("enjoy", "food abstract place"), ("admire", "person object"), ("invite", "person"),
    ("miss", "person place"), ("marry", "person"), ("trust", "person"), ("ignore", "person abstract"),
    ("describe", "person object place"), ("discover", "place abstract object"), ("order", "food object"),
    ("deliver", "text object food"), ("borrow", "object text"), ("lend:lent:lent", "object"),
    ("fill", "object"), ("empty", "object"), ("drop", "object"), ("throw:threw:thrown", "object"),
    ("kick", "object"), ("touch", "object animal"), ("smell", "food"), ("taste", "food"),
    ("bake", "food"), ("boil", "food"), ("fry", "food"), ("prepare", "food"), ("serve", "food"),
    ("print", "text"), ("sign", "text"), ("copy", "text"), ("translate", "text"), ("publish", "text"),
    ("count", "object animal"), ("measure", "object"), ("weigh", "object animal"),
    ("repair", "object"), ("install", "object"), ("wear:wore:worn", "object"), ("sell:sold:sold", "text"),
    ("attack", "person animal"), ("chase", "animal person"), ("hunt", "animal"), ("save", "person animal"),
    ("rescue", "person animal"), ("wake:woke:woken", "person"), ("greet", "person"), ("warn", "person"),
    ("forgive:forgave:forgiven", "person"), ("punish", "person"), ("praise", "person"),
    ("cross", "place"), ("reach", "place"), ("explore", "place"), ("rent", "place object"),
]

DOUBLING = set(words("stop plan drop shop rob travel prefer forget"))

# Determiners for singular and plural noun phrases.
SINGULAR_DETERMINERS = words("the the the a a this that my your his her our their every")
PLURAL_DETERMINERS = words("the the the these those my your his her our their some many")

SUBJECT_PRONOUNS = {  # pronoun -> (person, number)
    "I": (1, "sg"), "you": (2, "sg"), "he": (3, "sg"), "she": (3, "sg"),
    "we": (1, "pl"), "they": (3, "pl"),
}
OBJECT_PRONOUNS = words("me you him her us them")

CONJUNCTIONS = words("and but because while when although so")
