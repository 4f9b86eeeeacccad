// --resume keeps the precision asked for now (it is a run option, not part of
// the checkpoint): a bf16 run stopped and resumed in bf16 reproduces the
// uninterrupted bf16 run's losses bit for bit, and resuming the same
// checkpoint in f32 gives other losses. Needs a CPU with AVX512-BF16 or AMX;
// elsewhere it skips, saying why.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "tests/support/model_options.hpp"
#include "ops/dnnl/bf16.hpp"
#include "train/trainer.hpp"

using namespace loom;
using namespace loom::io;
using namespace loom::train;

namespace {

std::string fresh_dir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "loom_trainer_bf16_" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

TrainOptions toy_options(const std::string& dir, MatmulPrecision precision) {
  TrainOptions o;
  o.train_path = o.valid_path = "data/toy.tsv";
  o.out_dir = dir;
  o.model_options =
      testing_support::model_options("seq2seq", {{"embed", "8"}, {"hidden", "16"}, {"bleu-sentences", "4"}});
  o.precision = precision;
  o.epochs = 2;
  o.batch_size = 4;
  o.seed = 5;
  o.schedule.base_lr = 0.01;
  o.patience = 0;
  return o;
}

TEST(TrainerBf16, ResumeKeepsTheRequestedPrecision) {
  if (std::string why = bf16_unsupported_reason(); !why.empty()) GTEST_SKIP() << why;
  std::ostringstream log;
  TrainResult whole = train_model(toy_options(fresh_dir("whole"), MatmulPrecision::BF16), log);
  TrainOptions first = toy_options(fresh_dir("parts"), MatmulPrecision::BF16);
  first.max_steps = 3;
  TrainResult a = train_model(first, log);
  ASSERT_EQ(a.step_losses.size(), 3u);
  const std::string checkpoint = first.out_dir + "/last.safetensors";
  const std::string copy = fresh_dir("f32") + ".safetensors";
  for (const auto& entry : std::filesystem::directory_iterator(first.out_dir))  // checkpoint and its sidecar
    if (entry.path().filename().string().rfind("last.safetensors", 0) == 0)
      std::filesystem::copy_file(entry.path(), copy + entry.path().filename().string().substr(16),
                                 std::filesystem::copy_options::overwrite_existing);

  TrainOptions bf16 = toy_options(first.out_dir, MatmulPrecision::BF16);
  bf16.resume = checkpoint;
  TrainResult b = train_model(bf16, log);
  ASSERT_EQ(a.step_losses.size() + b.step_losses.size(), whole.step_losses.size());
  for (size_t i = 0; i < b.step_losses.size(); ++i)
    EXPECT_EQ(b.step_losses[i], whole.step_losses[i + 3]) << "step " << i + 3;

  TrainOptions f32 = toy_options(fresh_dir("f32_out"), MatmulPrecision::F32);
  f32.resume = copy;
  TrainResult c = train_model(f32, log);
  ASSERT_FALSE(c.step_losses.empty());
  EXPECT_NE(c.step_losses[0], whole.step_losses[3]);
}

}  // namespace
