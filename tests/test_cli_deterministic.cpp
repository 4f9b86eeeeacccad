// `loom train --deterministic` on 1, 2 and 3 threads (more threads than this
// machine may have cores is fine): the same losses in metrics.csv and the
// same bytes in the saved weights and their training state. The model is
// wide enough (4H = 256) that its weight-gradient GEMMs span several blocks.
// Without the option, this very run gives other weights on 2 threads than on
// 1 on an AVX-512 Xeon.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/training_state.hpp"
#include "tests/support/checkpoint_files.hpp"
#include "tests/support/run_loom.hpp"

namespace {

using loom::test::read_bytes;
using loom::test::run_loom;

const std::string kRun =
    "train --train data/toy.tsv --valid data/toy.tsv --embed 32 --hidden 64 --batch 4 --bleu-sentences 4 "
    "--epochs 8 --log-every 1 --deterministic ";

// metrics.csv without its timing columns (tokens_per_s, elapsed_s), which differ run to run.
std::vector<std::string> loss_rows(const std::string& csv_path) {
  std::ifstream in(csv_path);
  std::vector<std::string> rows;
  for (std::string line; std::getline(in, line);) {
    std::stringstream fields(line);
    std::string field, kept;
    for (int k = 0; k < 7 && std::getline(fields, field, ','); ++k) kept += field + ",";
    rows.push_back(kept);
  }
  return rows;
}

struct Outcome {
  std::vector<std::string> losses;
  std::string weights, state;
};

Outcome train_on(int threads) {
  std::string out = ::testing::TempDir() + "loom_deterministic_" + std::to_string(threads);
  std::filesystem::remove_all(out);
  auto run = run_loom(kRun + "--threads " + std::to_string(threads) + " --out '" + out + "'");
  EXPECT_EQ(run.status, 0) << run.all;
  const std::string last = out + "/last.safetensors";
  std::string state = loom::io::find_training_state(last);
  EXPECT_FALSE(state.empty()) << "no training state beside " << last;
  return {loss_rows(out + "/metrics.csv"), read_bytes(last), state.empty() ? "" : read_bytes(state)};
}

TEST(CliDeterministic, LossesAndWeightsAreBitwiseEqualOnOneTwoAndThreeThreads) {
  Outcome one = train_on(1);
  ASSERT_GT(one.losses.size(), size_t(40)) << "expected a row per step (8 epochs of 6 batches)";
  ASSERT_FALSE(one.weights.empty());
  for (int threads : {2, 3}) {
    Outcome many = train_on(threads);
    EXPECT_EQ(many.losses, one.losses) << threads << " threads";
    EXPECT_TRUE(many.weights == one.weights) << "last.safetensors differs on " << threads << " threads";
    EXPECT_TRUE(many.state == one.state) << "the training state differs on " << threads << " threads";
  }
}

}  // namespace
