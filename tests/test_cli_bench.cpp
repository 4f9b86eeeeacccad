// `loom bench`: times the requested number of steps of the named
// configuration, profiles them on request (the optimiser row counted once
// per step), writes a parsable trace, and refuses unknown configurations and
// a trace without a profile with exit status 2, naming what it knows; also
// `loom train --log-batches`, whose lines are the batches trained on.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/run_loom.hpp"

namespace {

using loom::test::run_loom;

TEST(CliBench, TimesTheStepsOfTheNamedConfiguration) {
  auto run = run_loom("bench --config tiny --steps 4 --threads 1");
  ASSERT_EQ(run.status, 0) << run.all;
  EXPECT_NE(run.out.find("config tiny (B=16 S=T=8 E=32 H=64 V=200), 1 thread(s), 4 steps"), std::string::npos)
      << run.out;
  // No std::regex: g++ 12 warns inside <regex> at -O0 with sanitizers (-Werror).
  const size_t at = run.out.find("ms per step: ");
  ASSERT_NE(at, std::string::npos) << run.out;
  double median = 0, lo = 0, hi = 0;
  ASSERT_EQ(std::sscanf(run.out.c_str() + at, "ms per step: median %lf min %lf max %lf", &median, &lo, &hi), 3)
      << run.out;
  EXPECT_GT(lo, 0.0);
  EXPECT_LE(lo, median);
  EXPECT_LE(median, hi);
}

TEST(CliBench, ProfileCountsEveryStepAndTheTraceParses) {
  const std::string trace = ::testing::TempDir() + "loom_cli_bench_trace.json";
  auto run = run_loom("bench --config tiny --steps 3 --profile --trace '" + trace + "'");
  ASSERT_EQ(run.status, 0) << run.all;
  for (const char* expected : {"iterations profiled: 3", "lstm_sequence_grad", "optimizer: clip + adam"})
    EXPECT_NE(run.out.find(expected), std::string::npos) << expected << "\n" << run.out;
  std::ifstream in(trace);
  const nlohmann::json parsed = nlohmann::json::parse(in);
  int optimizer_events = 0;
  for (const nlohmann::json& e : parsed.at("traceEvents"))
    optimizer_events += e.at("name") == "optimizer: clip + adam";
  EXPECT_EQ(optimizer_events, 3);
}

TEST(CliBench, BadRequestsAreUsageErrors) {
  auto unknown = run_loom("bench --config huge");
  EXPECT_EQ(unknown.status, 2) << unknown.all;
  EXPECT_NE(unknown.err.find("unknown configuration 'huge' (known: tiny, small, medium, long)"), std::string::npos)
      << unknown.err;
  auto trace = run_loom("bench --config tiny --trace x.json");
  EXPECT_EQ(trace.status, 2) << trace.all;
  EXPECT_NE(trace.err.find("--trace needs --profile"), std::string::npos) << trace.err;
  EXPECT_EQ(run_loom("bench --steps 0").status, 2);
  auto precision = run_loom("bench --config tiny --precision fp8");
  EXPECT_EQ(precision.status, 2) << precision.all;
  EXPECT_NE(precision.err.find("--precision must be one of f32 | bf16, got 'fp8'"), std::string::npos)
      << precision.err;
}

TEST(CliBench, Bf16IsNamedOrRefusedWhereTheCpuLacksIt) {
  auto run = run_loom("bench --config tiny --steps 2 --precision bf16");
  if (run.status == 2) {  // no AVX512-BF16 or AMX here: refused with the reason
    EXPECT_NE(run.err.find("--precision bf16: "), std::string::npos) << run.err;
    return;
  }
  ASSERT_EQ(run.status, 0) << run.all;
  EXPECT_NE(run.out.find("2 steps, bf16 matrix products"), std::string::npos) << run.out;
}

TEST(CliTrain, LogBatchesWritesTheModelThenEveryBatchTrainedOn) {
  const std::string dir = ::testing::TempDir() + "loom_cli_log_batches";
  std::filesystem::remove_all(dir);
  auto run = run_loom("train --train data/toy.tsv --valid data/toy.tsv --embed 8 --hidden 16 --batch 4 "
                      "--bleu-sentences 0 --max-steps 5 --out '" + dir + "' --log-batches '" + dir + ".jsonl'");
  ASSERT_EQ(run.status, 0) << run.all;
  std::ifstream in(dir + ".jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  nlohmann::json head = nlohmann::json::parse(line);
  EXPECT_EQ(head.at("embed"), 8);
  EXPECT_EQ(head.at("hidden"), 16);
  const int64_t tgt_vocab = head.at("tgt_vocab");
  int batches = 0;
  while (std::getline(in, line)) {
    nlohmann::json b = nlohmann::json::parse(line);
    int64_t tokens = 0;
    for (const auto& row : b.at("target_output"))
      for (int64_t id : row) {
        EXPECT_LT(id, tgt_vocab);
        tokens += id != 0;  // <pad>
      }
    EXPECT_EQ(tokens, b.at("target_tokens"));
    EXPECT_LE(b.at("source").size(), 4u);
    ++batches;
  }
  EXPECT_EQ(batches, 5);
}

}  // namespace
