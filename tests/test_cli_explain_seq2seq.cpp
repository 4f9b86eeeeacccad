// `loom explain --model seq2seq`: the translator's training plan and its
// decoding-step plan for the sizes given, with steps, fused groups, arenas
// and peak memory, and both drawn for Graphviz with --dot.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "tests/support/run_loom.hpp"

namespace loom {
namespace {

using test::run_loom;

std::string read(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

size_t count(const std::string& text, const std::string& word) {
  size_t n = 0;
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
  return n;
}

TEST(CliExplainSeq2Seq, PrintsTheTrainingAndDecodingStepPlans) {
  auto r = run_loom("explain --model seq2seq --batch 3 --src-len 5 --tgt-len 4 --embed 6 --hidden 8 --vocab 20 "
                    "--beam 2 --attention additive");
  ASSERT_EQ(r.status, 0) << r.all;
  size_t training = r.out.find("== training step: B=3 S=5 T=4"), step = r.out.find("== decoding step: K=2");
  ASSERT_NE(training, std::string::npos) << r.out;
  ASSERT_NE(step, std::string::npos) << r.out;
  EXPECT_LT(training, step);
  const std::string train_part = r.out.substr(training, step - training), step_part = r.out.substr(step);
  for (const char* word : {"lstm_sequence_grad", "cross_entropy", "embedding_grad", "fused_elementwise"})
    EXPECT_NE(train_part.find(word), std::string::npos) << word;
  EXPECT_NE(step_part.find("lstm_cell"), std::string::npos);
  EXPECT_EQ(step_part.find("_grad"), std::string::npos) << "a decoding step has no backward";
  // The loss and 15 gradients: 2 embeddings, 4 + 4 LSTM, 2 output, 3 additive attention.
  EXPECT_NE(train_part.find("outputs (16): loss=b"), std::string::npos);
  EXPECT_NE(train_part.find(" grad:attention.v=b"), std::string::npos);
  EXPECT_NE(step_part.find(" log_probs=b"), std::string::npos);
  EXPECT_EQ(count(r.out, "peak memory"), 2u);
  EXPECT_EQ(count(r.out, "transient arena"), 2u);
}

TEST(CliExplainSeq2Seq, DotWritesBothPlans) {
  const std::string path = ::testing::TempDir() + "loom_seq2seq_plan.dot";
  const std::string step_path = ::testing::TempDir() + "loom_seq2seq_plan.step.dot";
  std::remove(path.c_str());
  std::remove(step_path.c_str());
  auto r = run_loom("explain --model seq2seq --batch 2 --hidden 8 --embed 4 --vocab 12 --dot '" + path + "'");
  ASSERT_EQ(r.status, 0) << r.all;
  EXPECT_EQ(read(path).rfind("digraph", 0), 0u);
  EXPECT_NE(read(path).find("lstm_sequence_grad"), std::string::npos);
  EXPECT_EQ(read(step_path).rfind("digraph", 0), 0u);
  EXPECT_NE(read(step_path).find("lstm_cell"), std::string::npos);
  std::remove(path.c_str());
  std::remove(step_path.c_str());
}

TEST(CliExplainSeq2Seq, BadSizesAndKindsAreUsageErrors) {
  auto zero = run_loom("explain --model seq2seq --src-len 0");
  EXPECT_EQ(zero.status, 2) << zero.all;
  EXPECT_NE(zero.err.find("--src-len"), std::string::npos) << zero.all;
  auto kind = run_loom("explain --model seq2seq --attention nosuch");
  EXPECT_EQ(kind.status, 2) << kind.all;
  EXPECT_NE(kind.err.find("nosuch"), std::string::npos) << kind.all;
  EXPECT_NE(kind.err.find("additive"), std::string::npos) << "lists the known kinds: " << kind.all;
}

}  // namespace
}  // namespace loom
