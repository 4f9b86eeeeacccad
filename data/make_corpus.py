#!/usr/bin/env python3
"""Make the English -> Spanish corpus: English sentences from our own grammar,
translated by Apertium (apt-get install apertium-eng-spa).

The grammar (below) builds sentences of 3 to 40 words from data/en_lexicon.py:
noun phrases with determiners, adjectives, prepositional phrases, possessives
and relative clauses; verbs in seven tenses and with modals; negation (some of
it contracted); yes/no and wh-questions; imperatives; clauses joined by
conjunctions. Everything random comes from one random.Random(seed), so the same
seed and the same Apertium give the same files.

    python3 data/make_corpus.py --seed 1 --train 40000 --valid 1000 --test 1000 --out data/en-es
"""
import argparse
import collections
import os
import random
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the committed data
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import en_lexicon as lex  # noqa: E402

MIN_WORDS, MAX_WORDS = 3, 40


# ---- inflection ----------------------------------------------------------

def plural(noun):
    if re.search(r"(s|sh|ch|x|z)$", noun):
        return noun + "es"
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"
    return noun + "s"


def third_singular(verb):
    if verb in ("go", "do"):
        return verb + "es"
    if verb == "have":
        return "has"
    return plural(verb)  # the same spelling rules


def regular_past(verb):
    if verb.endswith("e"):
        return verb + "d"
    if re.search(r"[^aeiou]y$", verb):
        return verb[:-1] + "ied"
    if verb in lex.DOUBLING:
        return verb + verb[-1] + "ed"
    return verb + "ed"


def gerund(verb):
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")) and verb != "be":
        return verb[:-1] + "ing"
    if verb in lex.DOUBLING or verb in ("run", "swim", "sit", "cut", "stop", "get", "put"):
        return verb + verb[-1] + "ing"
    return verb + "ing"


class Verb:
    def __init__(self, spec, objects):
        parts = spec.split(":")
        self.base = parts[0]
        self.past = parts[1] if len(parts) > 1 else regular_past(self.base)
        self.participle = parts[2] if len(parts) > 2 else self.past
        self.third = third_singular(self.base)
        self.ing = gerund(self.base)
        self.objects = [] if objects == "-" else objects.split()

    def forms(self):
        return {self.base, self.past, self.participle, self.third, self.ing}


class Noun:
    def __init__(self, spec, cls):
        parts = spec.replace("_", " ").split("/")
        self.singular = parts[0]
        self.plural = parts[1] if len(parts) > 1 else plural(self.singular)
        self.cls = cls

    def forms(self):
        return set(self.singular.split()) | set(self.plural.split())


# ---- lexicon, filtered by what Apertium knows ------------------------------

class Lexicon:
    def __init__(self):
        self.nouns = collections.defaultdict(list)
        for cls, specs in lex.NOUNS.items():
            for spec in dict.fromkeys(specs):  # unique, order kept
                self.nouns[cls].append(Noun(spec, cls))
        self.verbs = [Verb(spec, objs) for spec, objs in lex.VERBS]
        self.adjectives = list(dict.fromkeys(lex.ADJECTIVES))
        self.adverbs = list(dict.fromkeys(lex.ADVERBS))
        self.names = list(dict.fromkeys(lex.NAMES))

    def all_forms(self):
        forms = set(self.adjectives) | set(self.adverbs) | set(self.names)
        for nouns in self.nouns.values():
            for n in nouns:
                forms |= n.forms()
        for v in self.verbs:
            forms |= v.forms()
        return sorted(forms)

    def drop_unknown(self, unknown):
        ok = lambda forms: not (forms & unknown)  # noqa: E731
        for cls in self.nouns:
            self.nouns[cls] = [n for n in self.nouns[cls] if ok(n.forms())]
        self.verbs = [v for v in self.verbs if ok(v.forms())]
        self.adjectives = [a for a in self.adjectives if a not in unknown]
        self.adverbs = [a for a in self.adverbs if a not in unknown]
        self.names = [a for a in self.names if a not in unknown]
        self.transitive = [v for v in self.verbs if v.objects]
        self.intransitive = [v for v in self.verbs if not v.objects]

    def size(self):
        return len(self.all_forms())


# ---- the grammar -----------------------------------------------------------

class Grammar:
    """Each method returns a list of words. `depth` bounds the nesting of
    prepositional phrases and relative clauses; `rng` is the only randomness."""

    def __init__(self, lexicon, rng):
        self.lx = lexicon
        self.rng = rng

    def chance(self, p):
        return self.rng.random() < p

    def pick(self, seq):
        return self.rng.choice(seq)

    # Noun phrases return (words, person, number).
    def noun_phrase(self, cls, depth, allow_name=True):
        r = self.rng
        if cls == "person" and allow_name and self.chance(0.15):
            return [self.pick(self.lx.names)], 3, "sg"
        noun = self.pick(self.lx.nouns[cls])
        number = "pl" if self.chance(0.3) else "sg"
        head = noun.plural if number == "pl" else noun.singular
        if self.chance(0.06) and self.lx.names:  # possessive: "Mary's dog"
            words = [self.pick(self.lx.names) + "'s"]
        else:
            det = self.pick(lex.PLURAL_DETERMINERS if number == "pl" else lex.SINGULAR_DETERMINERS)
            if det == "a" and head[0] in "aeiou":
                det = "an"
            words = [det]
        for adj in r.sample(self.lx.adjectives, r.choice([0, 0, 0, 1, 1, 2])):
            words.append(adj)
        words += head.split()
        if depth > 0 and self.chance(0.2):
            words += self.prep_phrase(depth - 1)
        if depth > 0 and cls in ("person", "animal") and self.chance(0.2):
            words += self.relative_clause(cls, number, depth - 1)
        elif depth > 0 and cls in ("object", "text", "food") and self.chance(0.15):
            words += self.object_relative(cls, depth - 1)
        return words, 3, number

    def prep_phrase(self, depth):
        prep = self.pick(lex.PREPOSITIONS)
        cls = "place" if prep in ("in", "into", "from", "to", "near", "across", "through") else \
            self.pick(["object", "person", "place"])
        if prep == "between":
            a, _, _ = self.noun_phrase(cls, 0)
            b, _, _ = self.noun_phrase(cls, 0)
            return [prep] + a + ["and"] + b
        np, _, _ = self.noun_phrase(cls, depth)
        return [prep] + np

    def relative_clause(self, cls, number, depth):
        # "the man who reads the book": the relative pronoun is the subject.
        return [self.pick(["who", "that"]) if cls == "person" else "that"] + \
            self.verb_phrase(3, number, depth, subject_cls=cls)

    def object_relative(self, cls, depth):
        # "the book that my sister bought"
        verbs = [v for v in self.lx.transitive if cls in v.objects]
        if not verbs:
            return []
        subj, person, number = self.subject(depth)
        verb = self.pick(verbs)
        return ["that"] + subj + self.conjugate(verb, person, number, self.pick(["present", "past", "perfect"]), False)

    def subject(self, depth):
        if self.chance(0.3):
            pron = self.pick(list(lex.SUBJECT_PRONOUNS))
            person, number = lex.SUBJECT_PRONOUNS[pron]
            return [pron], person, number
        return self.noun_phrase(self.pick(["person", "person", "animal"]), depth)

    def be(self, person, number, tense):
        if tense == "past":
            return "was" if number == "sg" and person != 2 else "were"
        if person == 1 and number == "sg":
            return "am"
        return "is" if number == "sg" and person == 3 else "are"

    def conjugate(self, verb, person, number, tense, negative):
        """The verb group for one tense, e.g. ['has', 'not', 'seen']."""
        third = person == 3 and number == "sg"
        contract = self.chance(0.3)
        if tense == "present":
            if not negative:
                return [verb.third if third else verb.base]
            aux = "does" if third else "do"
            return [aux + "n't", verb.base] if contract else [aux, "not", verb.base]
        if tense == "past":
            if not negative:
                return [verb.past]
            return ["didn't", verb.base] if contract else ["did", "not", verb.base]
        if tense == "future":
            if not negative:
                return ["will", verb.base]
            return ["won't", verb.base] if contract else ["will", "not", verb.base]
        if tense in ("progressive", "past_progressive"):
            be = self.be(person, number, "past" if tense == "past_progressive" else "present")
            return [be] + (["not"] if negative else []) + [verb.ing]
        if tense == "perfect":
            have = "has" if third else "have"
            return [have] + (["not"] if negative else []) + [verb.participle]
        modal = tense  # can, must, should
        if not negative:
            return [modal, verb.base]
        if modal == "can":
            return ["can't", verb.base] if contract else ["cannot", verb.base]
        return [modal, "not", verb.base]

    TENSES = ["present", "present", "past", "past", "future", "progressive", "past_progressive",
              "perfect", "can", "must", "should"]

    def verb_phrase(self, person, number, depth, subject_cls="person", tense=None, negative=None):
        tense = tense or self.pick(self.TENSES)
        negative = self.chance(0.2) if negative is None else negative
        if subject_cls == "person" and self.chance(0.15):  # copula + adjective
            be_tense = "past" if tense in ("past", "past_progressive") else "present"
            words = [self.be(person, number, be_tense)] + (["not"] if negative else [])
            return words + [self.pick(self.lx.adjectives)]
        if self.chance(0.6):
            verb = self.pick(self.lx.transitive)
            words = self.conjugate(verb, person, number, tense, negative)
            if self.chance(0.1):
                words.append(self.pick(lex.OBJECT_PRONOUNS))
            else:
                words += self.noun_phrase(self.pick(verb.objects), depth)[0]
        else:
            verb = self.pick(self.lx.intransitive)
            words = self.conjugate(verb, person, number, tense, negative)
        if self.chance(0.25):
            words += self.prep_phrase(depth)
        if self.chance(0.15):
            words.append(self.pick(lex.TIME_ADVERBS if tense != "present" else self.lx.adverbs))
        return words

    def clause(self, depth):
        subj, person, number = self.subject(depth)
        return subj + self.verb_phrase(person, number, depth)

    def question(self, depth):
        subj, person, number = self.subject(depth)
        third = person == 3 and number == "sg"
        kind = self.rng.random()
        if kind < 0.4:  # "Does the man like apples?"
            tense = self.pick(["present", "past", "future", "can"])
            aux = {"present": "does" if third else "do", "past": "did", "future": "will", "can": "can"}[tense]
            verb = self.pick(self.lx.transitive)
            obj, _, _ = self.noun_phrase(self.pick(verb.objects), depth)
            return [aux] + subj + [verb.base] + obj, "?"
        if kind < 0.6:  # "Is the old woman tired?"
            return [self.be(person, number, self.pick(["present", "past"]))] + subj + \
                [self.pick(self.lx.adjectives)], "?"
        if kind < 0.85:  # "Where did the children go?"
            wh = self.pick(["where", "when", "why", "how"])
            aux = self.pick(["did", "does" if third else "do", "will"])
            verb = self.pick(self.lx.verbs)
            return [wh, aux] + subj + [verb.base], "?"
        verb = self.pick(self.lx.transitive)  # "Who wrote this letter?"
        obj, _, _ = self.noun_phrase(self.pick(verb.objects), depth)
        return ["who", self.pick([verb.past, verb.third, "will " + verb.base])] + obj, "?"

    def imperative(self, depth):
        verb = self.pick(self.lx.transitive)
        words = ([self.pick(["don't", "do not"])] if self.chance(0.2) else []) + [verb.base]
        words += self.noun_phrase(self.pick(verb.objects), depth)[0]
        if self.chance(0.3):
            words += self.prep_phrase(depth)
        return words, "."

    def sentence(self):
        """One sentence as a string, first letter capitalised."""
        depth = self.pick([0, 1, 1, 2, 2, 3])
        kind = self.rng.random()
        if kind < 0.08:
            words, end = self.question(depth)
        elif kind < 0.13:
            words, end = self.imperative(depth)
        else:
            words, end = self.clause(depth), "."
            for _ in range(self.pick([0, 0, 0, 0, 0, 1, 1, 2, 3])):
                words += [self.pick(lex.CONJUNCTIONS)] + self.clause(depth)
        text = " ".join(words)
        return text[0].upper() + text[1:] + end


def word_count(sentence):
    return len(re.findall(r"[A-Za-z']+", sentence))


# ---- Apertium --------------------------------------------------------------

def apertium_pipeline():
    """The eng-spa pipeline of `apertium eng-spa` in null-flush mode. Plain
    `apertium` treats newlines as blanks, so a chunk can swallow words of the
    next line; with null flush every sentence is translated on its own."""
    mode = "/usr/share/apertium/modes/eng-spa.mode"
    done = subprocess.run(["apertium-wblank-mode", "-z", mode], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def translate(lines):
    """All lines through one Apertium process; returns one output per input.
    '-g' keeps the '*' / '#' / '@' marks so that bad translations can be dropped."""
    if any(c in line for line in lines for c in "\0\n[]^$\\/@*#<>{}"):
        sys.exit("a sentence holds a character that Apertium's stream format reserves")
    text = "".join(line + "\n\0" for line in lines)
    done = subprocess.run(["bash", "-c", apertium_pipeline(), "apertium", "-g", ""], input=text,
                          capture_output=True, text=True, check=True)
    out = done.stdout.split("\0")
    if len(out) < len(lines) or any(o.strip() for o in out[len(lines):]):
        sys.exit(f"apertium returned {len(out)} segments for {len(lines)} lines: alignment lost")
    return [" ".join(o.split()) for o in out[:len(lines)]]


def has_marks(text):
    # '*' unknown word, '#' generation error, '@' missing bilingual entry.
    return any(c in text for c in "*#@")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--train", type=int, default=40000)
    ap.add_argument("--valid", type=int, default=1000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "en-es"))
    args = ap.parse_args()

    lexicon = Lexicon()
    forms = lexicon.all_forms()
    unknown = {f for f, t in zip(forms, translate(forms)) if has_marks(t)}
    lexicon.drop_unknown(unknown)
    print(f"lexicon: {len(forms)} word forms, {len(unknown)} unknown to apertium dropped "
          f"({' '.join(sorted(unknown)[:30])}{' ...' if len(unknown) > 30 else ''}); "
          f"{lexicon.size()} forms kept", file=sys.stderr)

    grammar = Grammar(lexicon, random.Random(args.seed))
    need = args.train + args.valid + args.test
    sources = {}  # insertion-ordered set: deduplicated, deterministic
    while len(sources) < int(need * 1.1) + 100:
        s = grammar.sentence()
        if MIN_WORDS <= word_count(s) <= MAX_WORDS:
            sources[s] = None
    sources = list(sources)
    targets = translate(sources)
    pairs = [(s, t) for s, t in zip(sources, targets) if t and not has_marks(t) and "\t" not in s + t]
    print(f"generated {len(sources)} sentences, {len(pairs)} clean translations", file=sys.stderr)
    if len(pairs) < need:
        sys.exit(f"only {len(pairs)} clean pairs for {need} wanted")
    pairs = pairs[:need]
    random.Random(args.seed + 1).shuffle(pairs)
    splits = {"train": pairs[:args.train], "valid": pairs[args.train:args.train + args.valid],
              "test": pairs[args.train + args.valid:]}
    os.makedirs(args.out, exist_ok=True)
    for name, rows in splits.items():
        with open(os.path.join(args.out, name + ".tsv"), "w", encoding="utf-8") as f:
            f.writelines(f"{s}\t{t}\n" for s, t in rows)
        lengths = [word_count(s) for s, _ in rows]
        print(f"{name}: {len(rows)} pairs, source words {min(lengths)}..{max(lengths)} "
              f"mean {sum(lengths) / len(lengths):.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
