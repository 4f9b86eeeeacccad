// The language model's data (models/lm/data.*): word and character tokens,
// lines cut into windows with <bos>/<eos> only at a line's ends, blank lines
// skipped, errors naming file:line, the vocabulary's order, padded batches,
// and epochs that are a pure function of (seed, epoch), bucketed by padded
// length, while evaluation keeps file order.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "models/lm/data.hpp"
#include "tests/support/checkpoint_files.hpp"
#include "text/tokenizer.hpp"

namespace loom::models::lm {
namespace {

using text::Vocabulary;

std::string write_text(const test::TempDir& dir, const std::string& name, const std::string& body) {
  const std::string path = dir.file(name);
  std::ofstream(path, std::ios::binary) << body;
  return path;
}

TEST(LmData, WordsAreTheTokenizersCharactersAreCodePoints) {
  EXPECT_EQ(split_units("And God said, Let there be light.", Unit::Word),
            (std::vector<std::string>{"and", "god", "said", ",", "let", "there", "be", "light", "."}));
  EXPECT_EQ(split_units("Ab c\xc3\xa9!", Unit::Char),
            (std::vector<std::string>{"A", "b", " ", "c", "\xc3\xa9", "!"}));
  EXPECT_EQ(join_units({"A", "b", " ", "c"}, Unit::Char), "Ab c");
  EXPECT_EQ(join_units({"let", "there", "be"}, Unit::Word), "let there be");
  EXPECT_THROW(split_units("bad \xff byte", Unit::Char), text::TextError);
  EXPECT_THROW(split_units("bad \xff byte", Unit::Word), text::TextError);
  // A line may hold more words than the tokenizer accepts in one sentence.
  std::string paragraph;
  for (size_t i = 0; i < text::kMaxSentenceTokens + 5; ++i) paragraph += "word ";
  EXPECT_EQ(split_units(paragraph, Unit::Word).size(), text::kMaxSentenceTokens + 5);
}

TEST(LmData, VocabularyIsByFrequencyThenBytesWithinTheLimits) {
  test::TempDir dir;
  const std::string path = write_text(dir, "t.txt", "b a b\r\n\n   \nc b a d\n");
  const Vocabulary all = build_vocabulary(path, Unit::Word, {});
  EXPECT_EQ(all.tokens(), (std::vector<std::string>{"<pad>", "<unk>", "<bos>", "<eos>", "b", "a", "c", "d"}));
  const Vocabulary frequent = build_vocabulary(path, Unit::Word, {.min_frequency = 2, .max_size = 0});
  EXPECT_EQ(frequent.size(), 6);
  const Vocabulary capped = build_vocabulary(path, Unit::Word, {.min_frequency = 1, .max_size = 5});
  EXPECT_EQ(capped.tokens().back(), "b");
  const Vocabulary chars = build_vocabulary(path, Unit::Char, {});
  EXPECT_EQ(chars.token(4), " ");  // spaces are tokens (5 of them), then b (3)
  EXPECT_EQ(chars.token(5), "b");
}

TEST(LmData, ErrorsNameTheFileAndLine) {
  test::TempDir dir;
  const std::string bad = write_text(dir, "bad.txt", "fine\nnot \xff fine\n");
  try {
    build_vocabulary(bad, Unit::Char, {});
    ADD_FAILURE() << "invalid UTF-8 accepted";
  } catch (const text::TextError& e) {
    EXPECT_NE(std::string(e.what()).find(bad + ":2: "), std::string::npos) << e.what();
  }
  const std::string blank = write_text(dir, "blank.txt", "\n  \n\n");
  EXPECT_THROW(build_vocabulary(blank, Unit::Word, {}), text::TextError);
  EXPECT_THROW(build_vocabulary(dir.file("missing.txt"), Unit::Word, {}), text::TextError);
}

TEST(LmData, LongLinesAreCutIntoWindowsThatPredictEachTokenOnce) {
  test::TempDir dir;
  const std::string path = write_text(dir, "t.txt", "abcde\n\nxy\n");
  const Vocabulary vocab = build_vocabulary(path, Unit::Char, {});
  const LmData data(path, Unit::Char, vocab, {.batch_size = 2, .max_length = 4, .length_multiple = 1});
  // "abcde": <bos> a b c d e <eos> makes 6 predictions: windows of 4 and 2.
  ASSERT_EQ(data.examples(), 3);
  EXPECT_EQ(data.lines(), 2);
  auto ids = [&](std::initializer_list<const char*> tokens) {
    std::vector<int32_t> out;
    for (const char* t : tokens) out.push_back(std::string(t) == "<bos>" ? Vocabulary::kBos
                                               : std::string(t) == "<eos>" ? Vocabulary::kEos
                                                                           : vocab.id(t));
    return out;
  };
  auto window = [&](int64_t i) { return std::vector<int32_t>(data.window(i).begin(), data.window(i).end()); };
  EXPECT_EQ(window(0), ids({"<bos>", "a", "b", "c", "d"}));
  EXPECT_EQ(window(1), ids({"d", "e", "<eos>"}));
  EXPECT_EQ(window(2), ids({"<bos>", "x", "y", "<eos>"}));

  const std::vector<int64_t> rows{1, 0};
  auto owned = data.make_batch(rows);
  const auto& batch = dynamic_cast<const LmBatch&>(*owned);
  ASSERT_EQ(batch.input.shape(), (Shape{2, 4}));
  EXPECT_EQ(batch.tokens, 6);
  EXPECT_EQ(batch.loss_tokens(), 6);
  const std::vector<int32_t> input(batch.input.data<int32_t>(), batch.input.data<int32_t>() + 8);
  const std::vector<int32_t> target(batch.target.data<int32_t>(), batch.target.data<int32_t>() + 8);
  const int32_t d = vocab.id("d"), e = vocab.id("e"), a = vocab.id("a"), b = vocab.id("b"), c = vocab.id("c");
  EXPECT_EQ(input, (std::vector<int32_t>{d, e, 0, 0, Vocabulary::kBos, a, b, c}));
  EXPECT_EQ(target, (std::vector<int32_t>{e, Vocabulary::kEos, 0, 0, a, b, c, d}));
  EXPECT_EQ(batch.lengths.data<int32_t>()[0], 2);
  EXPECT_NE(batch.to_json().find("\"lengths\":[2,4]"), std::string::npos) << batch.to_json();
}

TEST(LmData, EpochsAreAFunctionOfSeedAndEpochAndBucketByPaddedLength) {
  test::TempDir dir;
  std::string body;
  for (int i = 0; i < 60; ++i) body += std::string(size_t(1 + i % 13), char('a' + i % 7)) + "\n";
  const std::string path = write_text(dir, "t.txt", body);
  const Vocabulary vocab = build_vocabulary(path, Unit::Char, {});
  const DataOptions options{.batch_size = 4, .max_length = 128, .length_multiple = 8, .seed = 5, .shuffle = true};
  const LmData data(path, Unit::Char, vocab, options), same(path, Unit::Char, vocab, options);
  DataOptions other_seed = options;
  other_seed.seed = 6;
  const LmData other(path, Unit::Char, vocab, other_seed);
  EXPECT_EQ(data.epoch_plan(2), same.epoch_plan(2));
  EXPECT_NE(data.epoch_plan(2), data.epoch_plan(3));
  EXPECT_NE(data.epoch_plan(2), other.epoch_plan(2));
  std::set<int64_t> seen;
  for (const auto& batch : data.epoch_plan(0)) {
    std::set<int64_t> lengths;  // one padded length per batch: one plan shape
    for (int64_t i : batch) {
      lengths.insert((int64_t(data.window(i).size()) - 1 + 7) / 8 * 8);
      EXPECT_TRUE(seen.insert(i).second) << "example " << i << " served twice";
    }
    EXPECT_EQ(lengths.size(), 1u);
    EXPECT_EQ(dynamic_cast<const LmBatch&>(*data.make_batch(batch)).length() % 8, 0);
  }
  EXPECT_EQ(int64_t(seen.size()), data.examples());
  const auto in_order = data.evaluation_plan();
  ASSERT_EQ(in_order.size(), 15u);
  EXPECT_EQ(in_order[1], (std::vector<int64_t>{4, 5, 6, 7}));
}

}  // namespace
}  // namespace loom::models::lm
