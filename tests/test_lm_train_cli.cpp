// `loom train --model lm`, run as a user would: the generic trainer gives the
// language model every feature the translator has. A run stopped by
// --max-steps and resumed reproduces the uninterrupted run's losses (dropout
// on); a resumed run refuses an explicit option that contradicts the
// checkpoint (exit 2, both values named); --max-memory refuses a run too big
// before it trains; --profile prints the step table; loom eval reads the kind
// from the checkpoint and reports bits per character; metrics.csv has the
// bpc column and loss.svg is drawn.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "tests/support/checkpoint_files.hpp"
#include "tests/support/run_loom.hpp"

namespace loom {
namespace {

using test::run_loom;

// A few verses of the bundled text, so that a run takes about a second.
std::string small_text(const test::TempDir& dir) {
  std::ifstream in("data/kjv/valid.txt");
  const std::string path = dir.file("verses.txt");
  std::ofstream out(path);
  std::string line;
  for (int i = 0; i < 40 && std::getline(in, line); ++i) out << line << "\n";
  return path;
}

std::string lm_args(const std::string& text, const std::string& out, const std::string& hidden = "--hidden 16") {
  return "train --model lm --unit char --train '" + text + "' --valid '" + text + "' --out '" + out +
         "' --embed 8 " + hidden + " --layers 1 --dropout 0.2 --max-length 32 --batch 8 --epochs 2 --seed 3 "
         "--log-every 1 --patience 0 --threads 1 ";
}

// The training-loss column of a metrics.csv, by step.
std::map<int, std::string> train_losses(const std::string& csv) {
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  std::map<int, std::string> losses;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::string epoch, step, loss;
    std::getline(row, epoch, ',');
    std::getline(row, step, ',');
    std::getline(row, loss, ',');
    if (!loss.empty()) losses[std::stoi(step)] = loss;
  }
  return losses;
}

TEST(LmTrainCli, ResumedRunReplaysTheUninterruptedOne) {
  test::TempDir dir;
  const std::string text = small_text(dir);
  const test::LoomRun whole = run_loom(lm_args(text, dir.file("whole")));
  ASSERT_EQ(whole.status, 0) << whole.all;
  EXPECT_NE(whole.err.find(" bpc "), std::string::npos) << "a char model reports bits per character:\n" << whole.err;
  const test::LoomRun first = run_loom(lm_args(text, dir.file("parts")) + "--max-steps 5");
  ASSERT_EQ(first.status, 0) << first.all;
  const test::LoomRun rest =
      run_loom(lm_args(text, dir.file("parts")) + "--resume '" + dir.file("parts") + "/last.safetensors'");
  ASSERT_EQ(rest.status, 0) << rest.all;
  const auto expected = train_losses(dir.file("whole") + "/metrics.csv");
  ASSERT_GT(expected.size(), 8u);
  EXPECT_EQ(train_losses(dir.file("parts") + "/metrics.csv"), expected);
  std::ifstream csv(dir.file("whole") + "/metrics.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "epoch,step,train_loss,valid_loss,valid_ppl,valid_bpc,lr,tokens_per_s,elapsed_s");
  EXPECT_TRUE(std::filesystem::exists(dir.file("whole") + "/loss.svg"));

  const test::LoomRun eval = run_loom("eval --checkpoint '" + dir.file("whole") + "/best.safetensors' --data '" +
                                      text + "'");
  EXPECT_EQ(eval.status, 0) << eval.all;
  EXPECT_NE(eval.out.find("perplexity:"), std::string::npos) << eval.out;
  EXPECT_NE(eval.out.find("bpc "), std::string::npos) << eval.out;
}

TEST(LmTrainCli, ResumeRefusesAContradictingOptionAndAnotherModel) {
  test::TempDir dir;
  const std::string text = small_text(dir);
  ASSERT_EQ(run_loom(lm_args(text, dir.file("run")) + "--max-steps 2").status, 0);
  const std::string resume = "--resume '" + dir.file("run") + "/last.safetensors' ";
  const test::LoomRun wider = run_loom(lm_args(text, dir.file("run"), "--hidden 32") + resume);
  EXPECT_EQ(wider.status, 2) << wider.all;
  EXPECT_NE(wider.err.find("--hidden 32 contradicts the checkpoint, whose hidden is 16"), std::string::npos)
      << wider.err;
  const test::LoomRun other = run_loom("train --model seq2seq " + resume + "--out '" + dir.file("run") + "'");
  EXPECT_EQ(other.status, 2) << other.all;
  EXPECT_NE(other.err.find("holds a 'lm' model"), std::string::npos) << other.err;
  // The same option at the checkpoint's value is no contradiction.
  const test::LoomRun same = run_loom(lm_args(text, dir.file("run")) + resume + "--max-steps 3");
  EXPECT_EQ(same.status, 0) << same.all;
}

// A resumed run with nothing left to do writes no checkpoint, and its last
// line says so instead of ending in an empty path.
TEST(LmTrainCli, AResumedRunThatWritesNoCheckpointSaysSo) {
  test::TempDir dir;
  const std::string text = small_text(dir);
  auto one_epoch = [&] {
    std::string args = lm_args(text, dir.file("run"));
    return args.replace(args.find("--epochs 2"), 10, "--epochs 1");
  };
  ASSERT_EQ(run_loom(one_epoch()).status, 0);
  const test::LoomRun done = run_loom(one_epoch() + "--resume '" + dir.file("run") + "/last.safetensors'");
  EXPECT_EQ(done.status, 0) << done.all;
  EXPECT_NE(done.out.find("no checkpoint written"), std::string::npos) << done.out;
  EXPECT_EQ(done.out.find("checkpoint \n"), std::string::npos) << done.out;
}

TEST(LmTrainCli, TooBigIsRefusedAndProfileTimesSteps) {
  test::TempDir dir;
  const std::string text = small_text(dir);
  const test::LoomRun big = run_loom(lm_args(text, dir.file("big")) + "--max-memory 1M");
  EXPECT_EQ(big.status, 1) << big.all;
  EXPECT_NE(big.err.find("more than --max-memory 1.0 MB"), std::string::npos) << big.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("big") + "/last.safetensors"));
  const test::LoomRun profile = run_loom(lm_args(text, dir.file("profile")) + "--profile 3");
  EXPECT_EQ(profile.status, 0) << profile.all;
  EXPECT_NE(profile.all.find("lstm_sequence"), std::string::npos) << profile.all;
  EXPECT_NE(profile.all.find("optimizer: clip + adam"), std::string::npos) << profile.all;
}

}  // namespace
}  // namespace loom
