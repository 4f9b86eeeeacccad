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

#include "io/training_state.hpp"
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
  for (const char* f : {"/last.safetensors", "/best.safetensors", "/metrics.csv", "/loss.svg"})
    EXPECT_TRUE(std::filesystem::exists(out + f)) << f;
  for (const char* f : {"/last.safetensors", "/best.safetensors"})
    EXPECT_FALSE(loom::io::find_training_state(out + f).empty()) << f << " has no training state";
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
  EXPECT_FALSE(loom::io::find_training_state(out + "/last.safetensors").empty());
  auto resumed = run_loom(kToy + "--epochs 100000 --max-steps 1 --out '" + out + "' --resume '" + out +
                          "/last.safetensors'");
  EXPECT_EQ(resumed.status, 0) << resumed.all;
}

TEST(CliTrain, InterruptSavesACheckpoint) { expect_signal_saves_a_checkpoint("INT"); }
TEST(CliTrain, TerminateSavesACheckpoint) { expect_signal_saves_a_checkpoint("TERM"); }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Two runs on one folder: the second is refused at once naming the first's
// pid; after the first is killed with -9 the folder is free again, a new run
// needs --overwrite, and a killed run's temporaries are removed.
TEST(CliTrain, OneRunPerOutputFolder) {
  const char* bin = std::getenv("LOOM_BIN");
  ASSERT_TRUE(bin && *bin) << "run through ctest";
  const std::string out = fresh_dir("locked"), logs = fresh_dir("locked_logs");
  std::filesystem::create_directories(logs);
  const std::string loom = "'" + std::string(bin) + "' ";
  // The first run holds the folder until it is killed; the script waits for
  // its pid in the lock file (not for a time) before starting the second.
  std::string script = loom + kToy + "--epochs 100000 --out '" + out + "' 2>/dev/null & p=$!; echo $p > '" + logs +
                       "/pid'; for i in $(seq 1200); do [ -s '" + out + "/.lock' ] && break; sleep 0.1; done; " +
                       loom + kToy + "--epochs 1 --out '" + out + "' 2>'" + logs + "/err'; echo $? > '" + logs +
                       "/status'; kill -9 $p; wait $p";
  std::ofstream(logs + "/race.sh") << script << "\n";
  std::system(("bash '" + logs + "/race.sh'").c_str());
  std::string pid = read_file(logs + "/pid");
  while (!pid.empty() && pid.back() == '\n') pid.pop_back();
  ASSERT_FALSE(pid.empty());
  EXPECT_EQ(std::atoi(read_file(logs + "/status").c_str()), 1) << read_file(logs + "/err");
  EXPECT_NE(read_file(logs + "/err").find("in use by another training run (pid " + pid + ","), std::string::npos)
      << read_file(logs + "/err");

  // kill -9 released the lock. Leave files of an earlier run and a killed write.
  std::ofstream(out + "/metrics.csv") << "epoch\n";
  const std::string stale = out + "/last.safetensors.tmp.99999.0";
  std::ofstream(stale) << "half a checkpoint";
  auto refused = run_loom(kToy + "--epochs 1 --max-steps 1 --out '" + out + "'");
  EXPECT_EQ(refused.status, 2) << refused.all;
  EXPECT_NE(refused.err.find("already holds an earlier run's"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("metrics.csv"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--overwrite"), std::string::npos) << refused.err;
  auto replaced = run_loom(kToy + "--epochs 1 --max-steps 1 --overwrite --out '" + out + "'");
  EXPECT_EQ(replaced.status, 0) << replaced.all;
  EXPECT_NE(replaced.err.find("removed " + stale + ", a temporary file"), std::string::npos) << replaced.err;
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(out + "/last.safetensors"));
}

// kill -9 while a run saves a checkpoint every few milliseconds (toy epochs
// are short): whatever instant it lands on, the newest checkpoint resumes.
TEST(CliTrain, KillNineLeavesACheckpointThatResumes) {
  const char* bin = std::getenv("LOOM_BIN");
  ASSERT_TRUE(bin && *bin) << "run through ctest";
  const std::string logs = fresh_dir("kill9_logs");
  std::filesystem::create_directories(logs);
  for (const char* delay : {"0.05", "0.3", "0.7"}) {
    // A folder per trial: in a reused one, the previous trial's checkpoint
    // would end the wait before this run had saved (or after --overwrite removed it).
    const std::string out = fresh_dir(std::string("kill9_after_") + delay);
    const std::string run = "'" + std::string(bin) + "' " + kToy + "--epochs 100000 --out '" + out + "'";
    std::ofstream(logs + "/kill.sh") << run << " 2>/dev/null & p=$!; for i in $(seq 1200); do [ -e '" << out
                                     << "/last.safetensors' ] && break; sleep 0.1; done; sleep " << delay
                                     << "; kill -9 $p; wait $p\n";
    std::system(("bash '" + logs + "/kill.sh'").c_str());
    ASSERT_TRUE(std::filesystem::exists(out + "/last.safetensors")) << "killed after " << delay << " s";
    auto resumed = run_loom(kToy + "--epochs 100000 --max-steps 1 --out '" + out + "' --resume '" + out +
                            "/last.safetensors'");
    EXPECT_EQ(resumed.status, 0) << "killed after " << delay << " s\n" << resumed.all;
    EXPECT_NE(resumed.err.find("resuming"), std::string::npos) << resumed.err;
  }
}

TEST(CliTrain, MaxMemoryRefusesARunThatWouldNotFit) {
  auto tiny = run_loom(kToy + "--epochs 1 --max-memory 1K --out '" + fresh_dir("memory") + "'");
  EXPECT_EQ(tiny.status, 1) << tiny.all;
  EXPECT_NE(tiny.err.find("training would need about "), std::string::npos) << tiny.err;
  EXPECT_NE(tiny.err.find("more than --max-memory 1.0 KB"), std::string::npos) << tiny.err;
  auto bad = run_loom(kToy + "--epochs 1 --max-memory 2X --out '" + fresh_dir("memory_bad") + "'");
  EXPECT_EQ(bad.status, 2) << bad.all;
  EXPECT_NE(bad.err.find("--max-memory: '2X' is not a memory size"), std::string::npos) << bad.err;
}

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
  EXPECT_EQ(bad_attention.status, 2) << "an unknown kind is a usage error";
  EXPECT_NE(bad_attention.err.find("--attention must be one of"), std::string::npos) << bad_attention.err;
  EXPECT_NE(bad_attention.err.find("got 'luong'"), std::string::npos) << bad_attention.err;
  auto bad_model = run_loom("train --model no-such-model");
  EXPECT_EQ(bad_model.status, 2);
  EXPECT_NE(bad_model.err.find("unknown model 'no-such-model'; known: "), std::string::npos) << bad_model.err;
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
      {"--beta1 1", "--beta1 must be in [0, 1), got 1"},
      {"--beta2 -0.5", "--beta2 must be in [0, 1), got -0.5"},
      {"--eps 0", "--eps must be a positive finite number, got 0"},
      {"--min-lr -1", "--min-lr must be >= 0, got -1"},
      {"--plateau-factor 1.5", "--plateau-factor must be in [0, 1), got 1.5"},
      {"--plateau-patience 0", "--plateau-patience must be >= 1, got 0"},
      {"--model lm --hidden 0", "--hidden must be in [1, 8192], got 0"},
  };
  for (const auto& [option, message] : cases) {
    auto r = run_loom("train --train no/such/file.tsv " + option);
    EXPECT_EQ(r.status, 2) << option << "\n" << r.all;
    EXPECT_NE(r.err.find(message), std::string::npos) << option << "\n" << r.err;
  }
}

}  // namespace
