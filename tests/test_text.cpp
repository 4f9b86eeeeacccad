// The text pipeline: tokenizer, vocabulary, TSV reader, batcher, and a check
// that the committed corpora under data/ read and tokenize cleanly.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "models/seq2seq/batcher.hpp"
#include "text/corpus.hpp"
#include "text/tokenizer.hpp"
#include "text/vocabulary.hpp"

using namespace loom;
using namespace loom::text;
using Tokens = std::vector<std::string>;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("loom_test_text_" + name)).string();
}

std::string write_file(const std::string& name, const std::string& content) {
  std::string path = temp_path(name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// Runs f, expects a TextError whose message contains every needle.
template <class F>
void expect_text_error(F f, std::initializer_list<std::string> needles) {
  try {
    f();
    ADD_FAILURE() << "no TextError thrown";
  } catch (const TextError& e) {
    for (const std::string& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

}  // namespace

// ---- tokenizer ------------------------------------------------------------

TEST(Tokenizer, LowerCasesAndSplitsPunctuation) {
  EXPECT_EQ(tokenize("The Cat, the DOG."), (Tokens{"the", "cat", ",", "the", "dog", "."}));
  EXPECT_EQ(tokenize("  several   spaces\tand\ttabs "), (Tokens{"several", "spaces", "and", "tabs"}));
  EXPECT_EQ(tokenize("(yes) \"no\" - maybe!?"), (Tokens{"(", "yes", ")", "\"", "no", "\"", "-", "maybe", "!", "?"}));
  EXPECT_EQ(tokenize("it costs 3.50 or 1,000"), (Tokens{"it", "costs", "3.50", "or", "1,000"}));
  EXPECT_TRUE(tokenize("").empty());
  EXPECT_TRUE(tokenize(" \t ").empty());
}

TEST(Tokenizer, SpanishAccentsAndCapitals) {
  EXPECT_EQ(tokenize("¿Dónde está el NIÑO?"), (Tokens{"¿", "dónde", "está", "el", "niño", "?"}));
  EXPECT_EQ(tokenize("ÁRBOL ÉL ÍNDICE ÓRGANO ÚLTIMO ÑANDÚ PINGÜINO"),
            (Tokens{"árbol", "él", "índice", "órgano", "último", "ñandú", "pingüino"}));
  EXPECT_EQ(tokenize("¡Vamos!"), (Tokens{"¡", "vamos", "!"}));
  EXPECT_EQ(tokenize("«Hola» —dijo…"), (Tokens{"«", "hola", "»", "—", "dijo", "…"}));
  // Decomposed (NFD) accents compose to the same token as precomposed ones.
  EXPECT_EQ(tokenize("Ca\xCC\x81" "mara Man\xCC\x83" "ana"), tokenize("Cámara Mañana"));
  EXPECT_EQ(lower_utf8("ÀÇÉÑÖŸŁ ΑΩ ДЯ"), "àçéñöÿł αω дя");
}

TEST(Tokenizer, EnglishContractions) {
  EXPECT_EQ(tokenize("Let's go"), (Tokens{"let", "'s", "go"}));
  EXPECT_EQ(tokenize("I don't know"), (Tokens{"i", "do", "n't", "know"}));
  EXPECT_EQ(tokenize("she can't, they're, I'm, we'll, you've, he'd"),
            (Tokens{"she", "ca", "n't", ",", "they", "'re", ",", "i", "'m", ",", "we", "'ll", ",", "you", "'ve", ",",
                    "he", "'d"}));
  EXPECT_EQ(tokenize("Mary's dog"), (Tokens{"mary", "'s", "dog"}));
  EXPECT_EQ(tokenize("shouldn't've"), (Tokens{"should", "n't", "'ve"}));
  EXPECT_EQ(tokenize("Let\xE2\x80\x99s go"), tokenize("let's go"));  // curly apostrophe
  EXPECT_EQ(tokenize("o'clock"), (Tokens{"o'clock"}));
  EXPECT_EQ(tokenize("'quoted' the students' books"),
            (Tokens{"'", "quoted", "'", "the", "students", "'", "books"}));
}

TEST(Tokenizer, InvalidUtf8NamesByteOffset) {
  expect_text_error([] { tokenize("abc\xFFzz"); }, {"byte offset 3", "0xff"});
  expect_text_error([] { tokenize("ab\xC3"); }, {"byte offset 2"});              // truncated
  expect_text_error([] { tokenize("\xC0\xAF"); }, {"byte offset 0"});            // overlong '/'
  expect_text_error([] { tokenize("x\xED\xA0\x80"); }, {"byte offset 1"});       // surrogate
  EXPECT_EQ(find_invalid_utf8("ñ\x80"), 2);
  EXPECT_EQ(find_invalid_utf8("ñandú"), -1);
}

// ---- vocabulary -----------------------------------------------------------

TEST(Vocabulary, ReservedIds) {
  Vocabulary v;
  EXPECT_EQ(v.size(), 4);
  EXPECT_EQ(v.id("<pad>"), 0);
  EXPECT_EQ(v.id("<unk>"), 1);
  EXPECT_EQ(v.id("<bos>"), 2);
  EXPECT_EQ(v.id("<eos>"), 3);
  EXPECT_EQ(v.token(3), "<eos>");
  EXPECT_THROW(v.token(4), TextError);
}

TEST(Vocabulary, FrequencyOrderMinFrequencyMaxSize) {
  std::vector<Tokens> corpus = {{"b", "a", "c"}, {"a", "b", "d"}, {"a", "e"}};
  Vocabulary all = Vocabulary::build(corpus);
  // a:3, then b:2, then c d e (1 each) in string order.
  EXPECT_EQ(all.size(), 9);
  EXPECT_EQ(all.id("a"), 4);
  EXPECT_EQ(all.id("b"), 5);
  EXPECT_EQ(all.id("c"), 6);
  EXPECT_EQ(all.id("e"), 8);
  Vocabulary frequent = Vocabulary::build(corpus, {.min_frequency = 2});
  EXPECT_EQ(frequent.size(), 6);
  EXPECT_EQ(frequent.id("c"), Vocabulary::kUnk);
  Vocabulary small = Vocabulary::build(corpus, {.max_size = 5});
  EXPECT_EQ(small.size(), 5);
  EXPECT_TRUE(small.contains("a"));
  EXPECT_FALSE(small.contains("b"));
}

TEST(Vocabulary, EncodeDecodeAndUnknown) {
  Vocabulary v = Vocabulary::build({{"vamos", "a", "la", "playa"}});
  std::vector<int32_t> ids = v.encode({"vamos", "a", "la", "luna"});
  EXPECT_EQ(ids[3], Vocabulary::kUnk);
  EXPECT_EQ(v.decode(ids), (Tokens{"vamos", "a", "la", "<unk>"}));
  // decode drops <bos>/<pad> and stops at <eos>.
  EXPECT_EQ(v.decode({Vocabulary::kBos, ids[0], Vocabulary::kEos, ids[1], Vocabulary::kPad}), (Tokens{"vamos"}));
}

TEST(Vocabulary, SaveLoadRoundTrip) {
  Vocabulary v = Vocabulary::build({tokenize("¿Dónde está el niño? El niño está aquí.")});
  std::string path = temp_path("vocab.txt");
  v.save(path);
  Vocabulary back = Vocabulary::load(path);
  ASSERT_EQ(back.size(), v.size());
  for (int32_t i = 0; i < v.size(); ++i) EXPECT_EQ(back.token(i), v.token(i));
  EXPECT_EQ(back.id("niño"), v.id("niño"));
}

TEST(Vocabulary, LoadErrorsNameFileAndLine) {
  expect_text_error([] { Vocabulary::load(temp_path("does_not_exist.txt")); }, {"does_not_exist.txt", "cannot open"});
  std::string bad_reserved = write_file("v1.txt", "<pad>\n<bos>\n<unk>\n<eos>\n");
  expect_text_error([&] { Vocabulary::load(bad_reserved); }, {bad_reserved + ":2:", "<unk>"});
  std::string dup = write_file("v2.txt", "<pad>\n<unk>\n<bos>\n<eos>\nhola\nadiós\nhola\n");
  expect_text_error([&] { Vocabulary::load(dup); }, {dup + ":7:", "duplicate"});
}

// The token list of a checkpoint becomes a vocabulary in memory, checked as
// a file would be, each error naming the list and the 1-based position.
TEST(Vocabulary, FromTokensKeepsIdsAndNamesTheBadPosition) {
  Vocabulary v = Vocabulary::from_tokens({"<pad>", "<unk>", "<bos>", "<eos>", "hola", "mundo"}, "list");
  EXPECT_EQ(v.size(), 6);
  EXPECT_EQ(v.id("mundo"), 5);
  EXPECT_EQ(v.tokens(), (Tokens{"<pad>", "<unk>", "<bos>", "<eos>", "hola", "mundo"}));
  expect_text_error([] { Vocabulary::from_tokens({"<pad>", "<unk>", "<bos>", "<eos>", "a", "a"}, "list"); },
                    {"list:6:", "duplicate token 'a'"});
  expect_text_error([] { Vocabulary::from_tokens({"<pad>", "<unk>", "<bos>", "<eos>", "a\nb"}, "list"); },
                    {"list:5:", "line break"});
  expect_text_error([] { Vocabulary::from_tokens({"<pad>", "<unk>"}, "list"); }, {"list", "reserved"});
}

// ---- TSV ------------------------------------------------------------------

TEST(Tsv, ReadsPairsWithLineNumbers) {
  std::string path = write_file("ok.tsv", "let's go\tvamos\r\n\nto go\tir\n");
  std::vector<TextPair> pairs = read_tsv(path);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].source, "let's go");
  EXPECT_EQ(pairs[0].target, "vamos");  // '\r' dropped
  EXPECT_EQ(pairs[1].line, 3);
  std::string copy = temp_path("copy.tsv");
  write_tsv(copy, pairs);
  EXPECT_EQ(read_tsv(copy)[1].target, "ir");
}

TEST(Tsv, ErrorsNameFileAndLine) {
  expect_text_error([] { read_tsv(temp_path("missing.tsv")); }, {"missing.tsv", "cannot open"});
  std::string no_tab = write_file("e1.tsv", "a\tb\nno tab here\n");
  expect_text_error([&] { read_tsv(no_tab); }, {no_tab + ":2:", "missing tab"});
  std::string empty_target = write_file("e2.tsv", "a\tb\nc\tb\nsource\t  \n");
  expect_text_error([&] { read_tsv(empty_target); }, {empty_target + ":3:", "empty target"});
  std::string empty_source = write_file("e3.tsv", "\tb\n");
  expect_text_error([&] { read_tsv(empty_source); }, {empty_source + ":1:", "empty source"});
  std::string bad_utf8 = write_file("e4.tsv", "a\tb\na\tb\xE9 c\n");
  expect_text_error([&] { read_tsv(bad_utf8); }, {bad_utf8 + ":2:", "invalid UTF-8", "byte offset 3"});
  std::string two_tabs = write_file("e5.tsv", "a\tb\tc\n");
  expect_text_error([&] { read_tsv(two_tabs); }, {two_tabs + ":1:", "more than one tab"});
}

TEST(Tsv, EmptyBlankAndHostileFilesAreRefusedByName) {
  std::string empty = write_file("h1.tsv", "");
  expect_text_error([&] { read_tsv(empty); }, {empty + ": no sentence pairs"});
  std::string blank = write_file("h2.tsv", "\n   \n\t\n \r\n");
  expect_text_error([&] { read_tsv(blank); }, {blank + ": no sentence pairs"});
  std::string nul = write_file("h3.tsv", std::string("a\tb\nab\0c\td\n", 12));
  expect_text_error([&] { read_tsv(nul); }, {nul + ":2:", "control character 0x00", "byte offset 2"});
  std::string inner_cr = write_file("h4.tsv", "a\rb\tc\n");
  expect_text_error([&] { read_tsv(inner_cr); }, {inner_cr + ":1:", "control character 0x0d"});
  std::string huge = write_file("h5.tsv", "a\t" + std::string(kMaxLineBytes + 10, 'x'));
  expect_text_error([&] { read_tsv(huge); }, {huge + ":1:", "line longer than 65536 bytes"});
}

TEST(Tsv, SentencesOverTheTokenCapAreRefusedWithFileAndLine) {
  std::string words;
  for (size_t i = 0; i <= kMaxSentenceTokens; ++i) words += "w ";
  expect_text_error([&] { tokenize(words); }, {"a sentence of 1001 tokens", "at most 1000"});
  EXPECT_EQ(tokenize(words.substr(2)).size(), kMaxSentenceTokens);  // exactly the cap is fine
  std::string path = write_file("long_sentence.tsv", "a\tb\n" + words + "\tc\n");
  std::vector<TextPair> pairs = read_tsv(path);
  expect_text_error([&] { tokenize_pairs(pairs, path); }, {path + ":2:", "1001 tokens"});
}

TEST(Tsv, CrlfAndWhitespaceOnlyLinesAreTheDocumentedPolicy) {
  std::string path = write_file("crlf.tsv", "one\tuno\r\n  \r\n\r\ntwo\tdos\r\nthree\ttres");
  std::vector<TextPair> pairs = read_tsv(path);
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0].target, "uno");
  EXPECT_EQ(pairs[1].line, 4);
  EXPECT_EQ(pairs[2].target, "tres");  // a last line without a newline still counts
}

// ---- batcher --------------------------------------------------------------

namespace {

// 50 pairs; pair i has source length 1 + i % 9 and target length 1 + i % 5,
// with ids that encode the pair index so rows can be traced back.
std::vector<EncodedPair> numbered_pairs(int n = 50) {
  std::vector<EncodedPair> pairs(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    pairs[size_t(i)].source.assign(size_t(1 + i % 9), 4 + i);
    pairs[size_t(i)].target.assign(size_t(1 + i % 5), 100 + i);
  }
  return pairs;
}

}  // namespace

TEST(Batcher, SameSeedSameBatchesDifferentSeedDifferentOrder) {
  models::seq2seq::BatcherOptions options{.batch_size = 4, .bucket_width = 2, .seed = 7};
  models::seq2seq::Batcher a(numbered_pairs(), options), b(numbered_pairs(), options);
  EXPECT_EQ(a.epoch_plan(0), b.epoch_plan(0));
  EXPECT_NE(a.epoch_plan(0), a.epoch_plan(1));  // a new epoch reshuffles
  options.seed = 8;
  models::seq2seq::Batcher c(numbered_pairs(), options);
  EXPECT_NE(a.epoch_plan(0), c.epoch_plan(0));
}

TEST(Batcher, EveryPairExactlyOncePerEpochAndBucketed) {
  std::vector<EncodedPair> pairs = numbered_pairs();
  for (bool shuffle : {true, false}) {
    models::seq2seq::Batcher batcher(pairs, {.batch_size = 4, .bucket_width = 3, .seed = 3, .shuffle = shuffle});
    std::multiset<int64_t> seen;
    for (const auto& batch : batcher.epoch_plan(5)) {
      EXPECT_LE(batch.size(), 4u);
      for (int64_t i : batch) seen.insert(i);
      if (shuffle) {  // one bucket per batch: source lengths within a width of 3
        for (int64_t i : batch) EXPECT_EQ(pairs[size_t(i)].source.size() / 3, pairs[size_t(batch[0])].source.size() / 3);
      }
    }
    ASSERT_EQ(seen.size(), pairs.size());
    for (int64_t i = 0; i < int64_t(pairs.size()); ++i) EXPECT_EQ(seen.count(i), 1u) << "pair " << i;
  }
}

TEST(Batcher, PaddingAndLengths) {
  std::vector<EncodedPair> pairs = {{{10, 11, 12}, {20}}, {{13}, {21, 22, 23, 24}}};
  models::seq2seq::Batcher batcher(pairs, {.batch_size = 2, .shuffle = false});
  models::seq2seq::Batch batch = batcher.make_batch({0, 1});
  // S = 3 + <eos>, T = 4 + 1.
  ASSERT_EQ(batch.source.shape(), (Shape{2, 4}));
  ASSERT_EQ(batch.target_input.shape(), (Shape{2, 5}));
  ASSERT_EQ(batch.target_output.shape(), (Shape{2, 5}));
  EXPECT_EQ(batch.source.dtype(), DType::I32);
  auto row = [](const Tensor& t, int64_t r) {
    std::vector<double> v = t.to_vector();
    int64_t w = t.shape()[1];
    return std::vector<double>(v.begin() + r * w, v.begin() + (r + 1) * w);
  };
  EXPECT_EQ(row(batch.source, 0), (std::vector<double>{10, 11, 12, 3}));
  EXPECT_EQ(row(batch.source, 1), (std::vector<double>{13, 3, 0, 0}));
  EXPECT_EQ(batch.source_lengths.to_vector(), (std::vector<double>{4, 2}));
  EXPECT_EQ(row(batch.target_input, 0), (std::vector<double>{2, 20, 0, 0, 0}));
  EXPECT_EQ(row(batch.target_output, 0), (std::vector<double>{20, 3, 0, 0, 0}));
  EXPECT_EQ(row(batch.target_input, 1), (std::vector<double>{2, 21, 22, 23, 24}));
  EXPECT_EQ(row(batch.target_output, 1), (std::vector<double>{21, 22, 23, 24, 3}));
  EXPECT_EQ(batch.target_tokens, 2 + 5);
  models::seq2seq::Batcher rounded(pairs, {.batch_size = 2, .shuffle = false, .length_multiple = 8});
  EXPECT_EQ(rounded.make_batch({0, 1}).source.shape(), (Shape{2, 8}));
}

TEST(Batcher, RowsMatchTheirPairs) {
  std::vector<EncodedPair> pairs = numbered_pairs();
  models::seq2seq::Batcher batcher(pairs, {.batch_size = 5, .bucket_width = 1, .seed = 11});
  for (const models::seq2seq::Batch& batch : batcher.epoch(0)) {
    const int64_t s = batch.source.shape()[1];
    for (size_t r = 0; r < batch.pairs.size(); ++r) {
      const EncodedPair& p = pairs[size_t(batch.pairs[r])];
      EXPECT_EQ(batch.source.at(int64_t(r) * s), p.source[0]);
      EXPECT_EQ(batch.source_lengths.at(int64_t(r)), double(p.source.size() + 1));
      EXPECT_EQ(int64_t(p.source.size() + 1), s);  // bucket_width 1: exact source length
    }
  }
  EXPECT_THROW(models::seq2seq::Batcher(pairs, {.batch_size = 0}), TextError);
}

// ---- the committed data ---------------------------------------------------

TEST(Data, CommittedCorporaReadAndTokenize) {
  for (const char* path : {"data/toy.tsv", "data/en-es/valid.tsv", "data/reverse/test.tsv"}) {
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "run from the repository root: " << path;
    std::vector<TextPair> pairs = read_tsv(path);
    EXPECT_GT(pairs.size(), 10u) << path;
    TokenizedCorpus corpus = tokenize_pairs(pairs, path);
    for (size_t i = 0; i < pairs.size(); ++i) {
      EXPECT_FALSE(corpus.sources[i].empty()) << path << ":" << pairs[i].line;
      EXPECT_FALSE(corpus.targets[i].empty()) << path << ":" << pairs[i].line;
    }
  }
  TokenizedCorpus toy = tokenize_pairs(read_tsv("data/toy.tsv"), "data/toy.tsv");
  EXPECT_EQ(toy.sources[0], (Tokens{"let", "'s", "go"}));
  EXPECT_EQ(toy.targets[0], (Tokens{"vamos"}));
}
