// `loom train --profile N --trace FILE`: the table names the plan's ops and
// the optimiser row, counts exactly N iterations, and the trace parses as
// Chrome trace-event JSON with one optimiser event per iteration.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/run_loom.hpp"

namespace {

using loom::test::run_loom;

const std::string kToy =
    "train --train data/toy.tsv --valid data/toy.tsv --embed 8 --hidden 16 --batch 4 --bleu-sentences 4 ";

TEST(CliProfile, PrintsTheTableAndWritesAParsableTrace) {
  std::string out = ::testing::TempDir() + "loom_cli_profile";
  std::filesystem::remove_all(out);
  auto run = run_loom(kToy + "--epochs 100 --out '" + out + "' --profile 3 --trace '" + out + "/trace.json'");
  ASSERT_EQ(run.status, 0) << run.all;
  for (const char* expected : {"op/group", "lstm_sequence", "optimizer: clip + adam", "iterations profiled: 3",
                               "steps with matrix products (GEMM)", "sgemm measured now"})
    EXPECT_NE(run.out.find(expected), std::string::npos) << expected << "\n" << run.out;
  std::ifstream in(out + "/trace.json");
  nlohmann::json trace = nlohmann::json::parse(in);
  int optimizer_events = 0, lstm_events = 0;
  for (const nlohmann::json& e : trace.at("traceEvents")) {
    EXPECT_EQ(e.at("ph"), "X");
    optimizer_events += e.at("name") == "optimizer: clip + adam";
    lstm_events += e.at("name") == "lstm_sequence";
  }
  EXPECT_EQ(optimizer_events, 3);
  EXPECT_GE(lstm_events, 3 * 2);  // encoder and decoder, every iteration
}

TEST(CliProfile, TraceWithoutProfileIsAUsageError) {
  auto run = run_loom(kToy + "--trace x.json");
  EXPECT_EQ(run.status, 2) << run.all;
  EXPECT_NE(run.err.find("--trace needs --profile"), std::string::npos) << run.err;
}

}  // namespace
