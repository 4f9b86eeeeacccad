// The training loop: a run stopped part-way (step limit or stop flag) and
// resumed from its checkpoint reproduces the uninterrupted run's losses bit
// for bit, dropout included; it writes checkpoints, metrics and the loss
// curve; early stopping and bad input are reported.
#include <algorithm>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "io/checkpoint.hpp"
#include "models/seq2seq/model_io.hpp"
#include "io/training_state.hpp"
#include "text/tokenizer.hpp"
#include "train/memory_estimate.hpp"
#include "train/output_folder.hpp"
#include "tests/support/checkpoint_files.hpp"
#include "tests/support/model_options.hpp"
#include "train/trainer.hpp"

using namespace loom;
using namespace loom::models::seq2seq;
using namespace loom::io;
using namespace loom::train;

namespace {

std::string fresh_dir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "loom_trainer_" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

TrainOptions toy_options(const std::string& dir) {
  TrainOptions o;
  o.train_path = "data/toy.tsv";
  o.valid_path = "data/toy.tsv";
  o.out_dir = dir;
  // dropout: masks must replay exactly on resume
  o.model_options = testing_support::model_options(
      "seq2seq", {{"embed", "8"}, {"hidden", "16"}, {"dropout", "0.2"}, {"bleu-sentences", "4"}});
  o.epochs = 3;
  o.batch_size = 4;
  o.seed = 5;
  o.schedule.base_lr = 0.01;
  o.log_every = 2;
  o.patience = 0;
  return o;
}

}  // namespace

TEST(Trainer, ResumedRunReproducesUninterruptedLossesExactly) {
  std::ostringstream log;
  TrainResult whole = train_model(toy_options(fresh_dir("whole")), log);
  ASSERT_GT(whole.step_losses.size(), 8u);
  EXPECT_LT(whole.step_losses.back(), whole.step_losses.front());

  TrainOptions first = toy_options(fresh_dir("parts"));
  first.max_steps = 7;  // stops mid-epoch, with a checkpoint
  TrainResult a = train_model(first, log);
  ASSERT_TRUE(a.interrupted);
  ASSERT_EQ(a.step_losses.size(), 7u);
  TrainOptions second = toy_options(first.out_dir);
  second.resume = first.out_dir + "/last.safetensors";
  TrainResult b = train_model(second, log);
  std::vector<double> joined = a.step_losses;
  joined.insert(joined.end(), b.step_losses.begin(), b.step_losses.end());
  ASSERT_EQ(joined.size(), whole.step_losses.size());
  for (size_t i = 0; i < joined.size(); ++i) EXPECT_EQ(joined[i], whole.step_losses[i]) << "step " << i;
  EXPECT_EQ(b.global_step, whole.global_step);
}

TEST(Trainer, StepLimitValidatesAndKeepsBestWithoutChangingEarlyStopping) {
  std::ostringstream log;
  TrainOptions o = toy_options(fresh_dir("limit"));
  o.max_steps = 3;  // inside epoch 1: no epoch-end validation yet
  TrainResult r = train_model(o, log);
  ASSERT_TRUE(r.interrupted);
  EXPECT_NE(log.str().find("stopped in epoch 1  valid loss"), std::string::npos) << log.str();
  EXPECT_TRUE(std::filesystem::exists(o.out_dir + "/best.safetensors"));
  EXPECT_TRUE(std::isfinite(r.best_valid_loss));
  EXPECT_NE(log.str().find("time: training"), std::string::npos) << log.str();
  // The limit's validation is not an epoch: early stopping starts from scratch.
  TrainingState best = load_training_state(o.out_dir + "/best.safetensors");
  EXPECT_EQ(best.batch_index, 3);
  EXPECT_TRUE(std::isinf(best.best_validation_loss));
  EXPECT_EQ(best.extra.at("early_stop_bad_epochs"), "0");
}

TEST(Trainer, NonFiniteStepStopsAndKeepsTheLastGoodCheckpoint) {
  std::ostringstream log;
  TrainOptions good = toy_options(fresh_dir("nonfinite"));
  good.epochs = 1;
  train_model(good, log);
  const std::string last = good.out_dir + "/last.safetensors";
  const std::string before = test::read_bytes(last);
  ASSERT_FALSE(before.empty());

  TrainOptions wild = toy_options(good.out_dir);
  wild.resume = last;  // the same folder: its last checkpoint must survive the failure
  wild.schedule.base_lr = 1e38;  // a few Adam steps of about lr each overflow float
  wild.clip_norm = 0;
  try {
    train_model(wild, log);
    FAIL() << "expected a NonFiniteError";
  } catch (const NonFiniteError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("step "), std::string::npos) << what;
    EXPECT_NE(what.find("kept as it was"), std::string::npos) << what;
    EXPECT_NE(what.find("--clip"), std::string::npos) << "clipping is off, so suggest it: " << what;
  }
  EXPECT_TRUE(test::read_bytes(last) == before) << "the last good checkpoint must not be overwritten";
}

TEST(Trainer, NonFiniteStepsCanBeSkippedButNonFiniteWeightsAreNeverSaved) {
  // A NaN in the embedding of one source word: resuming refuses it unless
  // told otherwise; then the batches holding that word get a NaN loss and
  // are skipped; the NaN weight itself still keeps the end of the run from
  // writing a checkpoint.
  std::ostringstream log;
  TrainOptions o = toy_options(fresh_dir("skip"));
  o.epochs = 1;
  train_model(o, log);
  const std::string last = o.out_dir + "/last.safetensors";
  TrainingState state = load_training_state(last);
  LoadedModel m = load_model(last);
  const int64_t word = m.source_vocab.id("go");
  ASSERT_GT(word, 3);
  TensorRef emb = m.model->params().value("src_embedding.weight");
  emb.ptr<float>()[word * emb.shape()[1]] = std::nanf("");
  save_model(last, *m.model, m.source_vocab, m.target_vocab);
  save_training_state(last, state);

  TrainOptions resumed = toy_options(o.out_dir);
  resumed.epochs = 2;
  resumed.resume = last;
  resumed.on_nonfinite = "skip";
  try {
    train_model(resumed, log);
    FAIL() << "expected a CheckpointError: the weights are not finite";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find(last), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("src_embedding.weight holds NaN"), std::string::npos) << e.what();
  }
  resumed.resume_nonfinite = true;
  try {
    train_model(resumed, log);
    FAIL() << "expected a NonFiniteError at the save";
  } catch (const NonFiniteError& e) {
    EXPECT_NE(std::string(e.what()).find("'src_embedding.weight'"), std::string::npos) << e.what();
  }
  EXPECT_NE(log.str().find("the training loss is nan; update skipped"), std::string::npos) << log.str();
}

TEST(Trainer, AClaimedOutputFolderIsRefusedNamingTheHolder) {
  std::ostringstream log;
  TrainOptions o = toy_options(fresh_dir("claimed"));
  {
    OutputFolderClaim held(o.out_dir, false, false, log);
    try {
      train_model(o, log);
      FAIL() << "expected OutputFolderBusy";
    } catch (const OutputFolderBusy& e) {
      EXPECT_NE(std::string(e.what()).find("(pid " + std::to_string(::getpid()) + ","), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(o.out_dir), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(o.out_dir + "/metrics.csv")) << "the refused run wrote nothing";
  }
  o.max_steps = 1;
  EXPECT_NO_THROW(train_model(o, log)) << "the claim ends with its owner";
}

TEST(Trainer, ANewRunReplacesAnEarlierRunOnlyWhenAskedTo) {
  std::ostringstream log;
  TrainOptions o = toy_options(fresh_dir("earlier"));
  o.max_steps = 1;
  train_model(o, log);
  EXPECT_THROW(train_model(o, log), OutputFolderNotEmpty);
  std::filesystem::remove(o.out_dir + "/best.safetensors");
  const std::string stale = o.out_dir + "/metrics.csv.tmp.99999";
  std::ofstream(stale) << "a row";
  o.overwrite = true;
  std::ostringstream second;
  train_model(o, second);
  // Names in directory order, which differs between file systems.
  const std::string text = second.str();
  const size_t line = text.find("--overwrite: removed ");
  ASSERT_NE(line, std::string::npos) << text;
  const size_t from = line + std::string("--overwrite: removed ").size();
  std::string removed = text.substr(from, text.find(" from ", from) - from) + ", ";
  std::vector<std::string> names;
  for (size_t at = 0, comma; (comma = removed.find(", ", at)) != std::string::npos; at = comma + 2)
    names.push_back(removed.substr(at, comma - at));
  for (const char* name : {"last.safetensors", "metrics.csv", "loss.svg"})
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name << " in: " << removed;
  EXPECT_TRUE(std::any_of(names.begin(), names.end(), [](const std::string& n) {
    return n.starts_with("last.safetensors.") && n.ends_with(".train");  // its training state
  })) << removed;
  EXPECT_NE(second.str().find("removed " + stale), std::string::npos) << second.str();
  EXPECT_FALSE(std::filesystem::exists(stale));
}

TEST(Trainer, ARunThatWouldNotFitIsRefusedBeforeItAllocates) {
  std::ostringstream log;
  TrainOptions o = toy_options(fresh_dir("memory"));
  o.max_memory = 4096;
  try {
    train_model(o, log);
    FAIL() << "expected InsufficientMemory";
  } catch (const InsufficientMemory& e) {
    EXPECT_NE(std::string(e.what()).find("more than --max-memory 4.0 KB"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("training would need about "), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(o.out_dir + "/metrics.csv"));
  o.max_memory = 1ull << 30;
  o.max_steps = 1;
  train_model(o, log);
  EXPECT_NE(log.str().find("memory: about "), std::string::npos) << log.str();
}

TEST(Trainer, StopFlagCheckpointsAndResumeContinues) {
  std::ostringstream log;
  TrainOptions o = toy_options(fresh_dir("flag"));
  std::atomic<bool> stop{true};  // as if Ctrl-C came before the first step
  TrainResult r = train_model(o, log, &stop);
  EXPECT_TRUE(r.interrupted);
  EXPECT_TRUE(r.step_losses.empty());
  EXPECT_TRUE(std::filesystem::exists(o.out_dir + "/last.safetensors"));
  EXPECT_FALSE(find_training_state(o.out_dir + "/last.safetensors").empty());
  EXPECT_NE(log.str().find("--resume"), std::string::npos) << log.str();
}

TEST(Trainer, WritesCheckpointsMetricsAndLossCurve) {
  std::ostringstream log;
  TrainOptions o = toy_options(fresh_dir("files"));
  TrainResult r = train_model(o, log);
  for (const char* f : {"/last.safetensors", "/best.safetensors", "/metrics.csv", "/loss.svg"})
    EXPECT_TRUE(std::filesystem::exists(o.out_dir + f)) << f;
  std::ifstream csv(o.out_dir + "/metrics.csv");
  std::string header, line;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("epoch,step,train_loss,valid_loss", 0), 0u) << header;
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_GE(rows, 3);  // at least one validation row per epoch
  LoadedModel m = load_model(r.checkpoint);
  EXPECT_EQ(m.model->config().hidden, 16);
  EXPECT_EQ(m.source_vocab.size(), m.model->config().src_vocab);
  EXPECT_NE(log.str().find("valid loss"), std::string::npos);
}

TEST(Trainer, EarlyStoppingEndsTheRun) {
  std::ostringstream log;
  TrainOptions o = toy_options(fresh_dir("early"));
  o.schedule.base_lr = 0.0;  // no progress: validation never improves after epoch 1
  o.epochs = 10;
  o.patience = 2;
  TrainResult r = train_model(o, log);
  EXPECT_TRUE(r.stopped_early);
  // Epoch 1 sets the best loss; epochs 2 and 3 fail to beat it; no epoch 4.
  EXPECT_NE(log.str().find("epoch 3  valid"), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find("epoch 4  valid"), std::string::npos) << log.str();
}

TEST(Trainer, BadTrainingFileNamesFileAndLine) {
  std::string dir = fresh_dir("bad");
  std::filesystem::create_directories(dir);
  std::string path = dir + "/bad.tsv";
  std::ofstream(path) << "hello\thola\nno tab here\n";
  TrainOptions o = toy_options(dir + "/out");
  o.train_path = path;
  std::ostringstream log;
  try {
    train_model(o, log);
    FAIL() << "expected an error";
  } catch (const text::TextError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":2"), std::string::npos) << e.what();
  }
}
