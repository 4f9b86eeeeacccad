// The user-written GRU language model (examples/gru_language_model.*),
// registered by one call (examples/register_examples.cpp):
//  (a) its loss equals a naive GRU written here with plain loops in double;
//  (b) every parameter's gradient from train_step equals central finite
//      differences of evaluate_batch's loss in f64;
//  (c) the real trainer trains it: a run stopped by max_steps and resumed
//      reproduces the uninterrupted run's losses bit for bit (dropout on),
//      writes metrics.csv (with bpc) and loss.svg, keeps its checkpoint
//      loadable, and refuses a resumed run whose --hidden contradicts it;
//  (e) restore refuses a loom.config that contradicts the file's tensors;
//  (d) the loom binary trains it (`loom train --model gru-lm`) and evaluates it.
// No line of train/, io/, runtime/ or tools/ knows this model.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/registered.hpp"
#include "examples/gru_language_model.hpp"
#include "io/checkpoint.hpp"
#include "tests/support/checkpoint_files.hpp"
#include "tests/support/model_options.hpp"
#include "tests/support/run_loom.hpp"
#include "train/trainer.hpp"

namespace loom::examples {
namespace {

using train::OptionConflict;
using train::TrainOptions;
using train::TrainResult;
using models::lm::LmBatch;

constexpr int64_t V = 9, E = 3, H = 4;

text::Vocabulary tiny_vocab() {
  std::vector<std::string> tokens{"<pad>", "<unk>", "<bos>", "<eos>"};
  for (int64_t i = 4; i < V; ++i) tokens.push_back("w" + std::to_string(i));
  return text::Vocabulary::from_tokens(tokens);
}

// An f64 model with weights in [-0.5, 0.5], wider than init's, so every part matters.
std::unique_ptr<GruLanguageModel> tiny_model() {
  GruConfig c;
  c.vocab = V, c.embed = E, c.hidden = H, c.dropout = 0.0, c.dtype = DType::F64, c.seed = 3;
  auto model = std::make_unique<GruLanguageModel>(c, tiny_vocab());
  std::mt19937_64 rng(11);
  model->params().fill_uniform(rng, 0.5);
  return model;
}

// B=2, T=5: a full row and a row of two predictions followed by padding.
LmBatch tiny_batch() {
  const std::vector<std::vector<int32_t>> windows{{2, 4, 5, 6, 7, 8}, {2, 6, 3}};
  std::vector<std::span<const int32_t>> spans(windows.begin(), windows.end());
  return models::lm::make_lm_batch(spans, 1);
}

// The model by hand: plain loops in double over the stored weights.
double naive_loss(GruLanguageModel& m, const LmBatch& batch) {
  auto w = [&](const char* name) { return m.params().value(name).ptr<double>(); };
  const double *emb = w("embedding.weight"), *wih = w("gru.weight_ih_l0"), *whh = w("gru.weight_hh_l0");
  const double *bih = w("gru.bias_ih_l0"), *bhh = w("gru.bias_hh_l0"), *ow = w("out.weight"), *ob = w("out.bias");
  auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  double sum = 0;
  int64_t count = 0;
  for (int64_t b = 0; b < batch.rows(); ++b) {
    std::vector<double> h(H, 0.0);
    for (int64_t t = 0; t < batch.length(); ++t) {
      const int32_t id = int32_t(batch.input.at(b * batch.length() + t));
      const double* x = emb + id * E;
      double gi[3 * H], gh[3 * H];
      for (int64_t j = 0; j < 3 * H; ++j) {
        gi[j] = bih[j], gh[j] = bhh[j];
        for (int64_t k = 0; k < E; ++k) gi[j] += x[k] * wih[j * E + k];
        for (int64_t k = 0; k < H; ++k) gh[j] += h[k] * whh[j * H + k];
      }
      for (int64_t j = 0; j < H; ++j) {
        const double r = sigmoid(gi[j] + gh[j]), z = sigmoid(gi[H + j] + gh[H + j]);
        const double n = std::tanh(gi[2 * H + j] + r * gh[2 * H + j]);
        h[j] = (1 - z) * n + z * h[j];
      }
      const int32_t target = int32_t(batch.target.at(b * batch.length() + t));
      if (target == text::Vocabulary::kPad) continue;
      std::vector<double> logits(V);
      double top = -INFINITY, z = 0;
      for (int64_t v = 0; v < V; ++v) {
        logits[v] = ob[v];
        for (int64_t k = 0; k < H; ++k) logits[v] += h[k] * ow[v * H + k];
        top = std::max(top, logits[v]);
      }
      for (int64_t v = 0; v < V; ++v) z += std::exp(logits[v] - top);
      sum += top + std::log(z) - logits[target];
      ++count;
    }
  }
  return sum / double(count);
}

TEST(GruLanguageModel, IsRegisteredWithItsOptions) {
  ASSERT_TRUE(runtime::model_registry().contains("gru-lm"));
  const runtime::ModelFamily family = runtime::model_registry().make("gru-lm");
  EXPECT_EQ(family.default_train, "data/kjv/train.txt");
  std::map<std::string, runtime::OptionSpec> by_name;
  for (const runtime::OptionSpec& spec : family.options) by_name[spec.name] = spec;
  EXPECT_EQ(by_name.at("embed").default_value, "64");
  EXPECT_EQ(by_name.at("hidden").default_value, "128");
  EXPECT_EQ(by_name.at("dropout").default_value, "0.1");
  for (const char* name : {"embed", "hidden", "dropout", "unit"}) EXPECT_TRUE(by_name.at(name).architecture) << name;
  for (const char* name : {"min-freq", "max-vocab", "max-length", "length-multiple"})
    EXPECT_FALSE(by_name.at(name).architecture) << name;
}

TEST(GruLanguageModel, LossEqualsANaiveGruWrittenWithLoops) {
  auto owned = tiny_model();
  GruLanguageModel& model = *owned;
  const LmBatch batch = tiny_batch();
  ASSERT_EQ(batch.length(), 5);
  ASSERT_EQ(batch.tokens, 7);
  const runtime::Evaluation eval = model.evaluate_batch(batch);
  const double expected = naive_loss(model, batch);
  EXPECT_GT(expected, 1.0);
  EXPECT_NEAR(eval.loss(), expected, 1e-12);
  EXPECT_EQ(eval.tokens, 7);
  EXPECT_NEAR(model.train_step(batch), expected, 1e-12) << "dropout 0: training and evaluation agree";
}

TEST(GruLanguageModel, EveryGradientMatchesCentralDifferences) {
  auto owned = tiny_model();
  GruLanguageModel& model = *owned;
  const LmBatch batch = tiny_batch();
  model.params().zero_grads();
  model.train_step(batch);
  // h = 1e-5: truncation (~h²) and rounding (~1e-16/h) errors stay near 1e-10,
  // so the bound is relative to the gradient, or to 1e-4 for smaller ones.
  constexpr double kStep = 1e-5;
  for (const auto& entry : model.params().entries()) {
    const int64_t n = entry.shape.numel();
    std::vector<double> grad(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) grad[size_t(i)] = model.params().grad(entry.name).ptr<double>()[i];
    // The embedding's rows 4..7 are tokens the batch reads.
    const bool table = entry.name == "embedding.weight";
    const int64_t first = table ? 4 * E : 0, last = table ? 8 * E - 1 : n - 1;
    for (int64_t i : {first, first + 1, (first + last) / 2, last}) {
      double* value = model.params().value(entry.name).ptr<double>() + i;
      const double saved = *value;
      *value = saved + kStep;
      const double up = model.evaluate_batch(batch).loss();
      value = model.params().value(entry.name).ptr<double>() + i;
      *value = saved - kStep;
      const double down = model.evaluate_batch(batch).loss();
      model.params().value(entry.name).ptr<double>()[i] = saved;
      const double numeric = (up - down) / (2 * kStep), analytic = grad[size_t(i)];
      EXPECT_NE(analytic, 0.0) << entry.name << "[" << i << "]";
      EXPECT_LE(std::fabs(numeric - analytic) / std::max(std::fabs(analytic), 1e-4), 1e-6)
          << entry.name << "[" << i << "]: train_step " << analytic << ", central difference " << numeric;
    }
  }
}

// ---- through the trainer ----------------------------------------------------------------------

const char* kWords[] = {"in", "the", "beginning", "god", "created", "heaven", "and", "earth", "light", "was"};

// A few dozen short lines of text.
std::string write_text(const test::TempDir& dir) {
  const std::string path = dir.file("text.txt");
  std::ofstream out(path);
  for (int line = 0; line < 36; ++line) {
    for (int w = 0; w < 2 + line % 4; ++w) out << (w ? " " : "") << kWords[(line * 7 + w * 3) % 10];
    out << "\n";
  }
  return path;
}

TrainOptions trainer_options(const std::string& text, const std::string& out) {
  TrainOptions o;
  o.model = "gru-lm";
  o.model_options = testing_support::model_options(
      "gru-lm", {{"embed", "8"}, {"hidden", "12"}, {"dropout", "0.2"}, {"unit", "char"}, {"max-length", "16"}});
  o.train_path = o.valid_path = text;
  o.out_dir = out;
  o.epochs = 2;
  o.batch_size = 6;
  o.seed = 5;
  o.schedule.base_lr = 0.01;
  o.log_every = 2;
  o.patience = 0;
  return o;
}

TEST(GruLanguageModel, TrainerResumesBitForBitAndRefusesAContradictingHidden) {
  test::TempDir dir;
  const std::string text = write_text(dir);
  std::ostringstream log;
  const TrainResult whole = train::train_model(trainer_options(text, dir.file("whole")), log);
  EXPECT_EQ(whole.model, "gru-lm");
  ASSERT_GT(whole.step_losses.size(), 8u);
  EXPECT_LT(whole.step_losses.back(), whole.step_losses.front());
  ASSERT_FALSE(whole.last_metrics.empty());
  EXPECT_EQ(whole.last_metrics.front().name, "bpc");

  TrainOptions first = trainer_options(text, dir.file("parts"));
  first.max_steps = 5;
  const TrainResult a = train::train_model(first, log);
  ASSERT_TRUE(a.interrupted);
  TrainOptions second = trainer_options(text, first.out_dir);
  second.resume = first.out_dir + "/last.safetensors";
  const TrainResult b = train::train_model(second, log);
  std::vector<double> joined = a.step_losses;
  joined.insert(joined.end(), b.step_losses.begin(), b.step_losses.end());
  ASSERT_EQ(joined.size(), whole.step_losses.size());
  for (size_t i = 0; i < joined.size(); ++i) EXPECT_EQ(joined[i], whole.step_losses[i]) << "step " << i;
  EXPECT_EQ(b.global_step, whole.global_step);

  for (const char* f : {"/metrics.csv", "/loss.svg", "/best.safetensors", "/last.safetensors"})
    EXPECT_TRUE(std::filesystem::exists(first.out_dir + f)) << f;
  std::ifstream csv(first.out_dir + "/metrics.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_NE(header.find("valid_bpc"), std::string::npos) << header;
  const runtime::LoadedModel loaded = runtime::load_model(first.out_dir + "/last.safetensors");
  EXPECT_EQ(loaded.kind, "gru-lm");
  EXPECT_EQ(loaded.model->config().at("hidden"), "12");

  TrainOptions contradicting = trainer_options(text, first.out_dir);
  contradicting.resume = first.out_dir + "/last.safetensors";
  contradicting.epochs = 3;
  contradicting.model_options["hidden"] = "16";
  contradicting.explicit_model_options = {"hidden"};
  try {
    train::train_model(contradicting, log);
    ADD_FAILURE() << "a resumed run with --hidden 16 against a hidden=12 checkpoint was accepted";
  } catch (const OptionConflict& e) {
    EXPECT_NE(std::string(e.what()).find("--hidden 16"), std::string::npos) << e.what();
  }
}

TEST(GruLanguageModel, RestoreRefusesAConfigThatContradictsTheTensors) {
  test::TempDir dir;
  auto owned = tiny_model();
  GruLanguageModel& model = *owned;
  for (const auto& [key, value, what] :
       {std::tuple{"hidden", "5", "loom.config says hidden=5 but gru.weight_hh_l0 is [12,4]"},
        std::tuple{"vocab", "1000000000000", "loom.config says vocab=1000000000000 but embedding.weight is [9,3]"},
        std::tuple{"embed", "x", "loom.config 'embed' is not an integer"},
        std::tuple{"dropout", "nan", "loom.config 'dropout' must be a number in [0, 1)"}}) {
    io::CheckpointInfo info{model.kind(), "", model.metadata()};
    std::map<std::string, std::string> config = model.config();
    config[key] = value;
    info.config_json = io::config_to_json(config);
    const std::string path = dir.file(std::string(key) + ".safetensors");
    io::save_checkpoint(path, model.params(), info);
    test::expect_error([&] { runtime::load_model(path); }, path, what);
  }
}

// ---- the loom binary ---------------------------------------------------------------------------

TEST(GruLanguageModel, LoomTrainsAndEvaluatesIt) {
  test::TempDir dir;
  const std::string text = write_text(dir), out = dir.file("run");
  const test::LoomRun trained =
      test::run_loom("train --model gru-lm --train '" + text + "' --valid '" + text + "' --epochs 1 --out '" + out +
                     "' --embed 8 --hidden 8 --unit char --max-length 16 --batch 8");
  ASSERT_EQ(trained.status, 0) << trained.all;
  ASSERT_TRUE(std::filesystem::exists(out + "/last.safetensors")) << trained.all;
  const test::LoomRun evaluated =
      test::run_loom("eval --checkpoint '" + out + "/last.safetensors' --data '" + text + "'");
  ASSERT_EQ(evaluated.status, 0) << evaluated.all;
  EXPECT_NE(evaluated.out.find("loss:"), std::string::npos) << evaluated.out;
  EXPECT_NE(evaluated.out.find("bpc "), std::string::npos) << evaluated.out;
}

}  // namespace
}  // namespace loom::examples
