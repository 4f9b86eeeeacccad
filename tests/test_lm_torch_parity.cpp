// Loom's language model against its PyTorch twin (LoomLanguageModel in
// tests/python/loom_torch.py, run with Debian's /usr/bin/python3 and
// python3-torch; skipped, saying why, where torch is missing). Both
// directions go through checkpoint files:
//  - Loom -> PyTorch: runtime::save_model writes a model, tied and untied,
//    1 and 2 layers; PyTorch loads it (strict) and computes the loss and
//    every gradient on one padded batch in f64; Loom's train_step must agree:
//    relative error (norm-wise, per tensor) <= 1e-4 with Loom in f32 and
//    <= 1e-11 with Loom in f64 (the same formulas, not merely close ones).
//  - PyTorch -> Loom: loom_torch.py lm-make writes checkpoints;
//    runtime::load_model reads them and evaluate_batch / train_step give
//    PyTorch's loss and gradients.
// Every Python job runs in one interpreter ("many"), so torch loads once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/checkpoint.hpp"
#include "models/lm/family.hpp"
#include "models/register_models.hpp"
#include "tests/support/torch_twin.hpp"

namespace loom::models::lm {
namespace {

namespace fs = std::filesystem;

constexpr double kTolerance = 1e-4;        // f32 Loom against f64 PyTorch
constexpr double kExactTolerance = 1e-11;  // f64 against f64
constexpr double kInitScale = 0.5;         // wider than init's 0.1, so every part of the model matters
constexpr int64_t kVocab = 11, kWidth = 6;

struct ParityCase {
  std::string name;
  int64_t layers = 1;
  bool tied = false;
};

const std::vector<ParityCase>& loom_cases() {
  static const std::vector<ParityCase> cases{
      {"untied_one_layer", 1, false}, {"tied_one_layer", 1, true},
      {"untied_two_layers", 2, false}, {"tied_two_layers", 2, true}};
  return cases;
}

const std::vector<ParityCase>& torch_cases() {
  static const std::vector<ParityCase> cases{{"torch_untied_one_layer", 1, false}, {"torch_tied_two_layers", 2, true}};
  return cases;
}

text::Vocabulary synthetic_vocab() {
  std::vector<std::string> tokens{"<pad>", "<unk>", "<bos>", "<eos>"};
  for (int64_t i = 4; i < kVocab; ++i) tokens.push_back("w" + std::to_string(i));
  return text::Vocabulary::from_tokens(tokens);
}

// B=4, T=6: a full row, a short one, a row of one prediction and one that
// starts mid-line (no <bos>).
LmBatch parity_batch() {
  const std::vector<std::vector<int32_t>> windows{
      {2, 4, 5, 6, 7, 8, 3}, {2, 9, 10, 3}, {2, 3}, {6, 5, 4, 10, 9}};
  std::vector<std::span<const int32_t>> spans(windows.begin(), windows.end());
  return make_lm_batch(spans, 1);
}

using test::quoted;

// Files and PyTorch results for the whole binary, prepared once.
struct ParityFiles : ::testing::Environment {
  fs::path dir;
  std::string skip_reason, python_log;
  int python_status = -1;
  LmBatch batch;

  std::string file(const std::string& name) const { return (dir / name).string(); }

  void SetUp() override {
    skip_reason = test::torch_twin_missing();
    if (!skip_reason.empty()) return;
    register_builtin_models();
    dir = fs::temp_directory_path() / ("loom_lm_parity_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    batch = parity_batch();
    io::save_safetensors(file("batch.safetensors"),
                     {{"input", batch.input.ref()}, {"target", batch.target.ref()}, {"lengths", batch.lengths.ref()}});
    std::ofstream(file("commands.txt")) << save_loom_models() << torch_commands();
    const test::TwinRun twin = test::run_twin_jobs(file("commands.txt"), file("python.log"));
    python_status = twin.status;
    python_log = twin.log;
  }

  void TearDown() override {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }

  std::string save_loom_models() const {
    std::string commands;
    uint64_t seed = 21;
    for (const ParityCase& c : loom_cases()) {
      LmConfig config;
      config.vocab = kVocab, config.embed = kWidth, config.hidden = kWidth, config.layers = c.layers;
      config.tie_weights = c.tied, config.dropout = 0.0, config.unit = Unit::Char;
      LanguageModel model(config, synthetic_vocab());
      std::mt19937_64 rng(seed++);
      model.params().fill_uniform(rng, kInitScale);
      runtime::save_model(file(c.name + ".safetensors"), model);
      commands += loss_command(c.name);
    }
    return commands;
  }

  std::string torch_commands() const {
    std::ostringstream commands;
    uint64_t seed = 301;
    for (const ParityCase& c : torch_cases()) {
      commands << "lm-make --out " << quoted(file(c.name + ".safetensors")) << " --vocab " << kVocab << " --embed "
               << kWidth << " --hidden " << kWidth << " --layers " << c.layers << " --tie-weights "
               << (c.tied ? "yes" : "no") << " --init-scale " << kInitScale << " --seed " << seed++ << "\n";
      commands << loss_command(c.name);
    }
    return commands.str();
  }

  std::string loss_command(const std::string& name) const {
    return "lm-loss --double --checkpoint " + quoted(file(name + ".safetensors")) + " --batch " +
           quoted(file("batch.safetensors")) + " --out " + quoted(file(name + ".torch")) + "\n";
  }
};

ParityFiles* const files = static_cast<ParityFiles*>(::testing::AddGlobalTestEnvironment(new ParityFiles));

class LmTorchParity : public ::testing::TestWithParam<ParityCase> {
 protected:
  void SetUp() override {
    if (!files->skip_reason.empty()) GTEST_SKIP() << files->skip_reason;
    ASSERT_EQ(files->python_status, 0) << "loom_torch.py failed:\n" << files->python_log;
  }
};

double relative_error(double loom, double torch) { return std::fabs(loom - torch) / std::max(std::fabs(torch), 1e-30); }

double relative_error(const TensorRef& loom, const Tensor& torch) {
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < torch.numel(); ++i) {
    const double a = loom.dtype() == DType::F64 ? loom.ptr<double>()[i] : double(loom.ptr<float>()[i]);
    const double b = torch.at(i);
    diff += (a - b) * (a - b);
    ref += b * b;
  }
  if (ref == 0) return diff == 0 ? 0.0 : INFINITY;
  return std::sqrt(diff / ref);
}

// The model of a checkpoint in either dtype (f32 weights convert exactly).
std::unique_ptr<LanguageModel> load_as(const std::string& path, DType dtype) {
  const io::CheckpointInfo info = io::read_checkpoint_info(path);
  LmConfig config = config_from_map(io::config_from_json(info.config_json), path);
  config.dtype = dtype;
  auto model = std::make_unique<LanguageModel>(config, io::vocabulary_from_tokens(io::token_list(info, kVocabKey, path)));
  io::load_checkpoint(path, model->params());
  return model;
}

// Loss and every gradient against PyTorch's; returns the worst relative error.
double expect_match(LanguageModel& model, double loss, const io::SafetensorsFile& torch, double tolerance) {
  const double torch_loss = torch.tensor("loss").at(0);
  double worst = relative_error(loss, torch_loss);
  EXPECT_LE(worst, tolerance) << "loss: Loom " << loss << ", PyTorch " << torch_loss;
  for (const auto& entry : model.params().entries()) {
    if (!torch.has("grad." + entry.name)) {
      ADD_FAILURE() << "PyTorch wrote no gradient for " << entry.name;
      continue;
    }
    const double error = relative_error(model.params().grad(entry.name), torch.tensor("grad." + entry.name));
    EXPECT_LE(error, tolerance) << "gradient of " << entry.name << " differs from PyTorch's";
    worst = std::max(worst, error);
  }
  EXPECT_EQ(torch.tensors.size(), model.params().entries().size() + 1) << "PyTorch has parameters Loom lacks";
  return worst;
}

class LoomToTorch : public LmTorchParity {};

TEST_P(LoomToTorch, LossAndEveryGradientMatchPyTorch) {
  const ParityCase& c = GetParam();
  const io::SafetensorsFile torch = io::load_safetensors(files->file(c.name + ".torch"));
  EXPECT_GT(torch.tensor("loss").at(0), 1.0);
  EXPECT_EQ(torch.has("grad.out.weight"), !c.tied);
  for (auto [dtype, tolerance] : {std::pair{DType::F32, kTolerance}, std::pair{DType::F64, kExactTolerance}}) {
    SCOPED_TRACE(dtype == DType::F32 ? "Loom in f32" : "Loom in f64");
    std::unique_ptr<LanguageModel> model = load_as(files->file(c.name + ".safetensors"), dtype);
    ASSERT_EQ(model->lm_config().tie_weights, c.tied);
    const double loss = model->train_step(files->batch);
    expect_match(*model, loss, torch, tolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(TiedAndUntied, LoomToTorch, ::testing::ValuesIn(loom_cases()),
                         [](const auto& info) { return info.param.name; });

class TorchToLoom : public LmTorchParity {};

TEST_P(TorchToLoom, CheckpointWrittenByPyTorchGivesTheSameLossAndGradients) {
  const ParityCase& c = GetParam();
  runtime::LoadedModel loaded = runtime::load_model(files->file(c.name + ".safetensors"));
  ASSERT_EQ(loaded.kind, "lm");
  auto& model = dynamic_cast<LanguageModel&>(*loaded.model);
  EXPECT_EQ(model.lm_config().layers, c.layers);
  EXPECT_EQ(model.lm_config().tie_weights, c.tied);
  EXPECT_EQ(model.vocab().token(4), "w4");
  const io::SafetensorsFile torch = io::load_safetensors(files->file(c.name + ".torch"));
  const runtime::Evaluation eval = model.evaluate_batch(files->batch);
  EXPECT_EQ(eval.tokens, files->batch.tokens);
  EXPECT_LE(relative_error(eval.loss(), torch.tensor("loss").at(0)), kTolerance)
      << "evaluation loss: Loom " << eval.loss() << ", PyTorch " << torch.tensor("loss").at(0);
  expect_match(model, model.train_step(files->batch), torch, kTolerance);
}

INSTANTIATE_TEST_SUITE_P(FromPyTorch, TorchToLoom, ::testing::ValuesIn(torch_cases()),
                         [](const auto& info) { return info.param.name; });

// The comparison is sharp: one recurrent weight changed by 1e-6 moves the
// loss or a gradient past the f64 bound.
TEST(LmTorchParitySharpness, DetectsAPerturbedWeight) {
  if (!files->skip_reason.empty()) GTEST_SKIP() << files->skip_reason;
  ASSERT_EQ(files->python_status, 0) << files->python_log;
  std::unique_ptr<LanguageModel> model = load_as(files->file("tied_two_layers.safetensors"), DType::F64);
  model->params().value("lstm.weight_hh_l1").ptr<double>()[5] *= 1 + 1e-6;
  const double loss = model->train_step(files->batch);
  const io::SafetensorsFile torch = io::load_safetensors(files->file("tied_two_layers.torch"));
  double worst = relative_error(loss, torch.tensor("loss").at(0));
  for (const auto& entry : model->params().entries())
    worst = std::max(worst, relative_error(model->params().grad(entry.name), torch.tensor("grad." + entry.name)));
  EXPECT_GT(worst, kExactTolerance);
}

}  // namespace
}  // namespace loom::models::lm
