// BLEU against hand-computed cases, the accuracies, perplexity, and the CSV
// training log (header once, rows flushed, resume and truncation).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "models/seq2seq/bleu.hpp"
#include "runtime/model.hpp"
#include "train/metrics.hpp"

using namespace loom::models::seq2seq;
using namespace loom::train;
using loom::runtime::perplexity;

namespace {
const std::string kHeader = MetricsLog::header({"valid_bleu"});
}  // namespace

namespace {

Tokens words(const std::string& text) {
  Tokens out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("loom_test_metrics_" + name)).string();
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

// ---- BLEU ----

TEST(Bleu, PerfectMatchIs100) {
  BleuScore s = corpus_bleu({words("the cat sat on the mat")}, {words("the cat sat on the mat")});
  EXPECT_DOUBLE_EQ(s.bleu, 100.0);
  EXPECT_DOUBLE_EQ(s.brevity_penalty, 1.0);
  for (double p : s.precisions) EXPECT_DOUBLE_EQ(p, 1.0);
}

TEST(Bleu, PartialMatchByHand) {
  // hyp "the cat sat on the mat", ref "the cat sat on the rug" (c = r = 6, BP = 1)
  // 1-grams: the x2, cat, sat, on match; mat does not      -> 5/6
  // 2-grams: the cat, cat sat, sat on, on the; not the mat  -> 4/5
  // 3-grams: 3 of 4 (not "on the mat")                      -> 3/4
  // 4-grams: 2 of 3 (not "sat on the mat")                  -> 2/3
  // BLEU = 100 * (5/6 * 4/5 * 3/4 * 2/3)^(1/4) = 100 * (1/3)^(1/4) = 75.984
  BleuScore s = corpus_bleu({words("the cat sat on the mat")}, {words("the cat sat on the rug")});
  EXPECT_DOUBLE_EQ(s.precisions[0], 5.0 / 6);
  EXPECT_DOUBLE_EQ(s.precisions[1], 4.0 / 5);
  EXPECT_DOUBLE_EQ(s.precisions[2], 3.0 / 4);
  EXPECT_DOUBLE_EQ(s.precisions[3], 2.0 / 3);
  EXPECT_NEAR(s.bleu, 100.0 * std::pow(1.0 / 3, 0.25), 1e-9);
  EXPECT_NEAR(s.bleu, 75.984, 1e-3);
}

TEST(Bleu, ClippedCounts) {
  // "the" occurs once in the reference, so four "the" match only once: p1 = 1/4.
  BleuScore s = corpus_bleu({words("the the the the")}, {words("the cat")});
  EXPECT_DOUBLE_EQ(s.precisions[0], 0.25);
  EXPECT_DOUBLE_EQ(s.precisions[1], 0.0);
  EXPECT_DOUBLE_EQ(s.bleu, 0.0);
}

TEST(Bleu, NoFourGramMatchIsZeroWithoutSmoothing) {
  // hyp "the cat sat on the mat", ref "the cat is on the mat":
  // p1 = 5/6, p2 = 3/5 (the cat, on the, the mat), p3 = 1/4 (on the mat), p4 = 0/3.
  Tokens hyp = words("the cat sat on the mat"), ref = words("the cat is on the mat");
  BleuScore s = corpus_bleu({hyp}, {ref});
  EXPECT_DOUBLE_EQ(s.precisions[2], 0.25);
  EXPECT_DOUBLE_EQ(s.precisions[3], 0.0);
  EXPECT_DOUBLE_EQ(s.bleu, 0.0);
  // Smoothed sentence BLEU: 5/6 * (3+1)/(5+1) * (1+1)/(4+1) * (0+1)/(3+1)
  //   = 5/6 * 2/3 * 2/5 * 1/4 = 1/18 -> 100 * (1/18)^(1/4) = 48.549
  EXPECT_NEAR(sentence_bleu(hyp, ref), 100.0 * std::pow(1.0 / 18, 0.25), 1e-9);
}

TEST(Bleu, BrevityPenalty) {
  // All precisions 1, c = 4, r = 8: BP = exp(1 - 8/4) = exp(-1) -> 36.788.
  BleuScore s = corpus_bleu({words("a b c d")}, {words("a b c d e f g h")});
  EXPECT_NEAR(s.brevity_penalty, std::exp(-1.0), 1e-12);
  EXPECT_NEAR(s.bleu, 100.0 * std::exp(-1.0), 1e-9);
  // A longer hypothesis is not penalised by BP (its precision drops instead).
  BleuScore longer = corpus_bleu({words("a b c d e f g h i")}, {words("a b c d e f g h")});
  EXPECT_DOUBLE_EQ(longer.brevity_penalty, 1.0);
  // c == r: BP = exp(0) = 1.
  EXPECT_DOUBLE_EQ(corpus_bleu({words("a b c d")}, {words("a b c e")}).brevity_penalty, 1.0);
}

TEST(Bleu, EmptyHypothesisIsZero) {
  EXPECT_DOUBLE_EQ(corpus_bleu({Tokens{}}, {words("a b c d")}).bleu, 0.0);
  EXPECT_DOUBLE_EQ(corpus_bleu({}, {}).bleu, 0.0);
  EXPECT_DOUBLE_EQ(sentence_bleu({}, words("a b c d")), 0.0);
}

TEST(Bleu, CorpusLevelAggregatesCountsNotScores) {
  // s1 perfect, 6 tokens: n-grams 6,5,4,3 all match. s2 shares nothing, 4 tokens: 4,3,2,1.
  // Corpus: 6/10 * 5/8 * 4/6 * 3/4 = 0.1875 -> 100 * 0.1875^(1/4) = 65.804
  // (the mean of the sentence scores would be (100 + 0)/2 = 50).
  BleuScore s = corpus_bleu({words("a b c d e f"), words("w x y z")}, {words("a b c d e f"), words("p q r s")});
  EXPECT_NEAR(s.bleu, 100.0 * std::pow(0.1875, 0.25), 1e-9);
  EXPECT_NEAR(s.bleu, 65.804, 1e-3);
  EXPECT_EQ(s.hypothesis_length, 10);
  EXPECT_EQ(s.reference_length, 10);
  // A sentence too short for any 4-gram still counts in the corpus.
  BleuScore with_short = corpus_bleu({words("a b c d"), words("x")}, {words("a b c d"), words("x")});
  EXPECT_DOUBLE_EQ(with_short.precisions[0], 1.0);
  EXPECT_DOUBLE_EQ(with_short.bleu, 100.0);
}

TEST(Bleu, StatsAddUpLikeCorpus) {
  BleuStats stats;
  stats.add(words("a b c d e f"), words("a b c d e f"));
  stats.add(words("w x y z"), words("p q r s"));
  EXPECT_EQ(stats.matches[0], 6);
  EXPECT_EQ(stats.totals[0], 10);
  EXPECT_EQ(stats.totals[3], 4);
  EXPECT_DOUBLE_EQ(bleu_from_stats(stats).bleu,
                   corpus_bleu({words("a b c d e f"), words("w x y z")}, {words("a b c d e f"), words("p q r s")}).bleu);
}

TEST(Bleu, MismatchedListsThrow) {
  EXPECT_THROW(corpus_bleu({words("a")}, {}), std::invalid_argument);
}

// ---- accuracies, perplexity ----

TEST(Accuracy, TokenAccuracyOverReferenceTokens) {
  // Pair 1: 2 of 3 positions right. Pair 2: hypothesis too short, 1 of 2 right.
  double acc = token_accuracy({words("a b x"), words("c")}, {words("a b c"), words("c d")});
  EXPECT_DOUBLE_EQ(acc, 3.0 / 5);
  EXPECT_DOUBLE_EQ(token_accuracy(std::vector<Tokens>{}, std::vector<Tokens>{}), 0.0);
}

TEST(Accuracy, TokenAccuracyOnIdsSkipsPadding) {
  std::vector<int32_t> predicted{4, 5, 6, 7, 9, 9};
  std::vector<int32_t> target{4, 5, 0, 7, 8, 0};  // 0 = <pad>
  EXPECT_DOUBLE_EQ(token_accuracy(predicted, target, 0), 3.0 / 4);
}

TEST(Accuracy, SequenceAccuracy) {
  EXPECT_DOUBLE_EQ(sequence_accuracy({words("a b"), words("c"), words("d e")}, {words("a b"), words("c d"), words("d e")}),
                   2.0 / 3);
}

TEST(Perplexity, ExpOfMeanLoss) {
  EXPECT_DOUBLE_EQ(perplexity(0.0), 1.0);
  EXPECT_NEAR(perplexity(std::log(50.0)), 50.0, 1e-9);
  EXPECT_TRUE(std::isinf(perplexity(1e6)));
}

// ---- MetricsLog ----

TEST(MetricsLog, WritesHeaderOnceAndRows) {
  std::string path = temp_path("log.csv");
  std::filesystem::remove(path);
  {
    MetricsLog log(path);
    log.append({1, 100, 3.5, 3.25, perplexity(3.25), {12.5}, 0.001, 1830, 42.5});
    // Rows are flushed at once: readable while the log is still open.
    EXPECT_EQ(read_all(path), kHeader + "\n1,100,3.5,3.25,25.79034,12.5,0.001,1830,42.5\n");
    log.append({1, 200, 3.0, kNaN, kNaN, {kNaN}, 0.001, 1900, 80});
  }
  std::string expected = kHeader +
                         "\n1,100,3.5,3.25,25.79034,12.5,0.001,1830,42.5"
                         "\n1,200,3,,,,0.001,1900,80\n";
  EXPECT_EQ(read_all(path), expected);
  {
    MetricsLog resumed(path);  // a resumed run continues the same file, no second header
    resumed.append({2, 300, 2.5, kNaN, kNaN, {kNaN}, 0.0005, 2000, 120});
  }
  EXPECT_EQ(read_all(path), expected + "2,300,2.5,,,,0.0005,2000,120\n");
  std::filesystem::remove(path);
}

TEST(MetricsLog, ResumeFromEarlierCheckpointDropsLaterRows) {
  std::string path = temp_path("resume.csv");
  std::filesystem::remove(path);
  {
    MetricsLog log(path);
    for (int64_t step : {100, 200, 300}) log.append({1, step, 1, kNaN, kNaN, {kNaN}, 0.1, 10, double(step)});
  }
  {
    MetricsLog log(path, 200);
    log.append({1, 300, 0.5, kNaN, kNaN, {kNaN}, 0.1, 10, 301});
  }
  EXPECT_EQ(read_all(path), kHeader +
                                "\n1,100,1,,,,0.1,10,100\n1,200,1,,,,0.1,10,200\n1,300,0.5,,,,0.1,10,301\n");
  std::filesystem::remove(path);
}

TEST(MetricsLog, PartialLastRowFromACrashIsDropped) {
  std::string path = temp_path("crash.csv");
  std::ofstream(path, std::ios::binary) << kHeader << "\n1,100,1,,,,0.1,10,100\n1,200,0.";
  {
    MetricsLog log(path);
    log.append({1, 200, 0.9, kNaN, kNaN, {kNaN}, 0.1, 10, 200});
  }
  EXPECT_EQ(read_all(path),
            kHeader + "\n1,100,1,,,,0.1,10,100\n1,200,0.9,,,,0.1,10,200\n");
  std::filesystem::remove(path);
}

TEST(MetricsLog, ColumnsFollowTheModelsMetrics) {
  std::string path = temp_path("lm.csv");
  std::filesystem::remove(path);
  {
    MetricsLog log(path, std::nullopt, {"valid_bpc"});
    log.append({1, 10, 2.0, 1.5, perplexity(1.5), {2.164}, 0.01, 100, 5});
    EXPECT_THROW(log.append({1, 20, 2.0, 1.5, 4.0, {}, 0.01, 100, 6}), MetricsError);  // a column missing
  }
  EXPECT_EQ(read_all(path), "epoch,step,train_loss,valid_loss,valid_ppl,valid_bpc,lr,tokens_per_s,elapsed_s\n"
                            "1,10,2,1.5,4.481689,2.164,0.01,100,5\n");
  // A translator's log is not an LM's: reopening with other columns is refused.
  EXPECT_THROW(MetricsLog(path, std::nullopt, {"valid_bleu"}), MetricsError);
  std::filesystem::remove(path);
}

TEST(MetricsLog, ForeignFileAndBadPathNameThePath) {
  std::string path = temp_path("foreign.csv");
  std::ofstream(path) << "a,b,c\n1,2,3\n";
  try {
    MetricsLog log(path);
    ADD_FAILURE() << "no MetricsError";
  } catch (const MetricsError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
  std::string bad = temp_path("no_such_dir/log.csv");
  try {
    MetricsLog log(bad);
    ADD_FAILURE() << "no MetricsError";
  } catch (const MetricsError& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}
