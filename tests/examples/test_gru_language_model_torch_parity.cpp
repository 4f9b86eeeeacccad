// The user-written GRU language model (examples/gru_language_model.*) against
// its PyTorch twin (LoomGruLanguageModel in tests/python/loom_torch.py:
// nn.Embedding, nn.GRU(batch_first=True), nn.Linear), run with Debian's
// /usr/bin/python3 and python3-torch; skipped, saying why, where torch is
// missing. Both directions go through checkpoint files, on one padded batch:
//  - Loom -> PyTorch: runtime::save_model writes a model; PyTorch loads it
//    (strict) and computes the loss and every gradient in f64;
//  - PyTorch -> Loom: `loom_torch.py gru-make` writes a checkpoint that
//    runtime::load_model reads.
// Loom in f64 must agree to 1e-9 (relative, norm-wise per tensor): the same
// formulas, not merely close ones. Every Python job runs in one interpreter.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tests/support/registered.hpp"
#include "examples/gru_language_model.hpp"
#include "io/checkpoint.hpp"
#include "tests/support/torch_twin.hpp"

namespace loom::examples {
namespace {

namespace fs = std::filesystem;

constexpr double kTolerance = 1e-9;  // f64 against f64
constexpr int64_t kVocab = 11, kEmbed = 5, kHidden = 6;

text::Vocabulary synthetic_vocab() {
  std::vector<std::string> tokens{"<pad>", "<unk>", "<bos>", "<eos>"};
  for (int64_t i = 4; i < kVocab; ++i) tokens.push_back("w" + std::to_string(i));
  return text::Vocabulary::from_tokens(tokens);
}

// B=4, T=6: a full row, a short one, a row of one prediction and one that
// starts mid-line (no <bos>).
models::lm::LmBatch parity_batch() {
  const std::vector<std::vector<int32_t>> windows{{2, 4, 5, 6, 7, 8, 3}, {2, 9, 10, 3}, {2, 3}, {6, 5, 4, 10, 9}};
  std::vector<std::span<const int32_t>> spans(windows.begin(), windows.end());
  return models::lm::make_lm_batch(spans, 1);
}

using test::quoted;

// Files and PyTorch results for the whole binary, prepared once.
struct ParityFiles : ::testing::Environment {
  fs::path dir;
  std::string skip_reason, python_log;
  int python_status = -1;
  models::lm::LmBatch batch;

  std::string file(const std::string& name) const { return (dir / name).string(); }

  void SetUp() override {
    skip_reason = test::torch_twin_missing();
    if (!skip_reason.empty()) return;
    dir = fs::temp_directory_path() / ("loom_gru_parity_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    batch = parity_batch();
    io::save_safetensors(file("batch.safetensors"), {{"input", batch.input.ref()}, {"target", batch.target.ref()}});
    save_loom_model();
    std::ofstream(file("commands.txt"))
        << "gru-make --out " << quoted(file("torch.safetensors")) << " --vocab " << kVocab << " --embed " << kEmbed
        << " --hidden " << kHidden << " --init-scale 0.5 --seed 301\n"
        << loss_command("loom") << loss_command("torch");
    const test::TwinRun twin = test::run_twin_jobs(file("commands.txt"), file("python.log"));
    python_status = twin.status;
    python_log = twin.log;
  }

  void TearDown() override {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }

  // Weights in [-0.5, 0.5], wider than init's, so every part of the model matters.
  void save_loom_model() const {
    GruConfig c;
    c.vocab = kVocab, c.embed = kEmbed, c.hidden = kHidden, c.dropout = 0.0, c.unit = models::lm::Unit::Char;
    GruLanguageModel model(c, synthetic_vocab());
    std::mt19937_64 rng(21);
    model.params().fill_uniform(rng, 0.5);
    runtime::save_model(file("loom.safetensors"), model);
  }

  std::string loss_command(const std::string& name) const {
    return "gru-loss --double --checkpoint " + quoted(file(name + ".safetensors")) + " --batch " +
           quoted(file("batch.safetensors")) + " --out " + quoted(file(name + ".torch")) + "\n";
  }
};

ParityFiles* const files = static_cast<ParityFiles*>(::testing::AddGlobalTestEnvironment(new ParityFiles));

double relative_error(double loom, double torch) { return std::fabs(loom - torch) / std::max(std::fabs(torch), 1e-30); }

double relative_error(const TensorRef& loom, const Tensor& torch) {
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < torch.numel(); ++i) {
    const double a = loom.ptr<double>()[i], b = torch.at(i);
    diff += (a - b) * (a - b);
    ref += b * b;
  }
  if (ref == 0) return diff == 0 ? 0.0 : INFINITY;
  return std::sqrt(diff / ref);
}

// A checkpoint's model in f64 (its f32 weights convert exactly).
std::unique_ptr<GruLanguageModel> load_f64(const std::string& path) {
  const io::CheckpointInfo info = io::read_checkpoint_info(path);
  GruConfig c = gru_config_from_checkpoint(path, info);
  c.dtype = DType::F64;
  auto model = std::make_unique<GruLanguageModel>(
      c, io::vocabulary_from_tokens(io::token_list(info, models::lm::kVocabKey, path)));
  io::load_checkpoint(path, model->params());
  return model;
}

// The loss and every gradient of a training step against PyTorch's: the worst relative error.
double worst_error(GruLanguageModel& model, const io::SafetensorsFile& torch) {
  const double loss = model.train_step(files->batch), torch_loss = torch.tensor("loss").at(0);
  double worst = relative_error(loss, torch_loss);
  EXPECT_LE(worst, kTolerance) << "loss: Loom " << loss << ", PyTorch " << torch_loss;
  for (const auto& entry : model.params().entries()) {
    if (!torch.has("grad." + entry.name)) {
      ADD_FAILURE() << "PyTorch wrote no gradient for " << entry.name;
      continue;
    }
    const double error = relative_error(model.params().grad(entry.name), torch.tensor("grad." + entry.name));
    EXPECT_LE(error, kTolerance) << "gradient of " << entry.name << " differs from PyTorch's";
    worst = std::max(worst, error);
  }
  EXPECT_EQ(torch.tensors.size(), model.params().entries().size() + 1) << "PyTorch has parameters Loom lacks";
  return worst;
}

class GruTorchParity : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!files->skip_reason.empty()) GTEST_SKIP() << files->skip_reason;
    ASSERT_EQ(files->python_status, 0) << "loom_torch.py failed:\n" << files->python_log;
  }
};

TEST_F(GruTorchParity, LoomCheckpointGivesPyTorchsLossAndEveryGradient) {
  const io::SafetensorsFile torch = io::load_safetensors(files->file("loom.torch"));
  EXPECT_GT(torch.tensor("loss").at(0), 1.0);
  std::unique_ptr<GruLanguageModel> model = load_f64(files->file("loom.safetensors"));
  EXPECT_LE(worst_error(*model, torch), kTolerance);
}

TEST_F(GruTorchParity, PyTorchCheckpointLoadsAndGivesTheSameLossAndGradients) {
  const std::string path = files->file("torch.safetensors");
  runtime::LoadedModel loaded = runtime::load_model(path);  // through the registered family, in f32
  ASSERT_EQ(loaded.kind, "gru-lm");
  const io::SafetensorsFile torch = io::load_safetensors(files->file("torch.torch"));
  const double torch_loss = torch.tensor("loss").at(0);
  const runtime::Evaluation eval = loaded.model->evaluate_batch(files->batch);
  EXPECT_EQ(eval.tokens, files->batch.tokens);
  EXPECT_LE(relative_error(eval.loss(), torch_loss), 1e-5) << "f32 evaluation: " << eval.loss() << " vs " << torch_loss;
  std::unique_ptr<GruLanguageModel> model = load_f64(path);
  EXPECT_EQ(model->vocab().token(4), "w4");
  EXPECT_LE(worst_error(*model, torch), kTolerance);
}

// The comparison is sharp: one recurrent weight changed by 1e-6 moves the
// loss or a gradient past the bound.
TEST_F(GruTorchParity, DetectsAPerturbedWeight) {
  std::unique_ptr<GruLanguageModel> model = load_f64(files->file("loom.safetensors"));
  model->params().value("gru.weight_hh_l0").ptr<double>()[7] *= 1 + 1e-6;
  const double loss = model->train_step(files->batch);
  const io::SafetensorsFile torch = io::load_safetensors(files->file("loom.torch"));
  double worst = relative_error(loss, torch.tensor("loss").at(0));
  for (const auto& entry : model->params().entries())
    worst = std::max(worst, relative_error(model->params().grad(entry.name), torch.tensor("grad." + entry.name)));
  EXPECT_GT(worst, kTolerance);
}

}  // namespace
}  // namespace loom::examples
