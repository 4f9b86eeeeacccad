// `loom train` as a user runs it: a short toy run writes checkpoints, the
// metrics CSV and the loss curve and exits 0; --resume from the stopped run
// finishes it; bad options and unreadable data fail with the documented
// exit status and a message naming the problem.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "tests/support/run_loom.hpp"

namespace {

using loom::test::run_loom;

std::string fresh_dir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "loom_cli_train_" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

const std::string kToy =
    "train --train data/toy.tsv --valid data/toy.tsv --embed 8 --hidden 16 --batch 4 --bleu-sentences 4 ";

TEST(CliTrain, ToyRunWritesItsFilesAndResumes) {
  std::string out = fresh_dir("toy");
  auto first = run_loom(kToy + "--epochs 2 --out '" + out + "' --max-steps 3");
  EXPECT_EQ(first.status, 0) << first.all;
  EXPECT_NE(first.err.find("--resume"), std::string::npos) << first.err;
  auto second = run_loom(kToy + "--epochs 2 --out '" + out + "' --resume '" + out + "/last.safetensors'");
  EXPECT_EQ(second.status, 0) << second.all;
  EXPECT_NE(second.err.find("resuming"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("epoch 2  valid loss"), std::string::npos) << second.err;
  for (const char* f : {"/last.safetensors", "/last.safetensors.train", "/best.safetensors", "/metrics.csv", "/loss.svg"})
    EXPECT_TRUE(std::filesystem::exists(out + f)) << f;
}

// A real signal in the middle of training: the run saves a checkpoint that
// can be resumed and exits with 130.
void expect_signal_saves_a_checkpoint(const std::string& signal) {
  const char* bin = std::getenv("LOOM_BIN");
  ASSERT_TRUE(bin && *bin) << "run through ctest";
  std::string out = fresh_dir("signal_" + signal);
  std::filesystem::create_directories(out);
  std::string script = "'" + std::string(bin) + "' " + kToy + "--epochs 100000 --out '" + out + "' 2>'" + out +
                       "/err' & p=$!; sleep 2; kill -" + signal + " $p; wait $p; echo $? > '" + out + "/status'";
  std::ofstream(out + "/interrupt.sh") << script << "\n";
  ASSERT_EQ(std::system(("bash '" + out + "/interrupt.sh'").c_str()), 0);
  std::ifstream status(out + "/status"), err(out + "/err");
  int code = -1;
  status >> code;
  std::stringstream log;
  log << err.rdbuf();
  EXPECT_EQ(code, 130) << log.str();
  EXPECT_NE(log.str().find("--resume"), std::string::npos) << log.str();
  EXPECT_TRUE(std::filesystem::exists(out + "/last.safetensors.train"));
  auto resumed = run_loom(kToy + "--epochs 100000 --max-steps 1 --out '" + out + "' --resume '" + out +
                          "/last.safetensors'");
  EXPECT_EQ(resumed.status, 0) << resumed.all;
}

TEST(CliTrain, InterruptSavesACheckpoint) { expect_signal_saves_a_checkpoint("INT"); }
TEST(CliTrain, TerminateSavesACheckpoint) { expect_signal_saves_a_checkpoint("TERM"); }

TEST(CliTrain, HelpShowsDefaults) {
  auto r = run_loom("train --help");
  EXPECT_EQ(r.status, 0);
  for (const char* word : {"--resume", "--seed", "(=adam)", "(=dot)", "--max-minutes"})
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
}

TEST(CliTrain, BadInputFailsClearly) {
  auto missing = run_loom("train --train no/such.tsv --out '" + fresh_dir("missing") + "'");
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("no/such.tsv"), std::string::npos) << missing.err;
  auto bad_option = run_loom("train --epochz 3");
  EXPECT_EQ(bad_option.status, 2);
  EXPECT_NE(bad_option.err.find("epochz"), std::string::npos) << bad_option.err;
  auto bad_attention = run_loom(kToy + "--epochs 2 --attention luong --out '" + fresh_dir("att") + "'");
  EXPECT_EQ(bad_attention.status, 1);
  EXPECT_NE(bad_attention.err.find("luong"), std::string::npos) << bad_attention.err;
}

// Out-of-range options are usage errors (exit 2) in command-line terms,
// refused before any data is read or memory allocated.
TEST(CliTrain, OptionsOutOfRangeAreUsageErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--hidden 0", "--hidden must be in [1, 8192], got 0"},
      {"--hidden 10000", "--hidden must be in [1, 8192], got 10000"},
      {"--layers 300", "--layers must be in [1, 64], got 300"},
      {"--lr -1", "--lr must be a positive finite number, got -1"},
      {"--lr nan", "--lr must be a positive finite number, got nan"},
      {"--clip -1", "--clip must be >= 0, got -1"},
      {"--clip nan", "--clip must be >= 0, got nan"},
      {"--weight-decay -100", "--weight-decay must be >= 0, got -100"},
      {"--warmup -5", "--warmup must be >= 0, got -5"},
      {"--patience -1", "--patience must be >= 0, got -1"},
      {"--max-minutes nan", "--max-minutes must be >= 0, got nan"},
      {"--threads -3", "--threads must be in [0, 1024], got -3"},
      {"--dropout nan", "--dropout must be in [0, 1), got nan"},
      {"--epochs -1", "--epochs must be >= 1, got -1"},
      {"--batch 0", "--batch must be in [1, 65536], got 0"},
      {"--on-nonfinite maybe", "--on-nonfinite must be one of stop | skip, got 'maybe'"},
  };
  for (const auto& [option, message] : cases) {
    auto r = run_loom("train --train no/such/file.tsv " + option);
    EXPECT_EQ(r.status, 2) << option << "\n" << r.all;
    EXPECT_NE(r.err.find(message), std::string::npos) << option << "\n" << r.err;
  }
}

}  // namespace
