// Loom's Seq2Seq against its PyTorch twin (tests/python/loom_torch.py, run
// with Debian's /usr/bin/python3 and python3-torch; skipped where torch is
// missing). Both directions through checkpoint files:
//  - Loom -> PyTorch: save_model writes a Loom model; PyTorch loads it and
//    computes the loss and every parameter's gradient on one padded batch;
//    train_step_gradients must agree: relative error (norm-wise, per tensor)
//    <= 1e-4 with Loom in f32, and <= 1e-11 with Loom in f64, which shows
//    the formulas are the same ones (an eps placed elsewhere fails it).
//  - PyTorch -> Loom: loom_torch.py make writes a checkpoint (weights,
//    loom.config, vocabularies); load_model reads it and evaluate_batch /
//    train_step_gradients give PyTorch's loss (and gradients).
// Every Python job runs in one interpreter ("many"), so torch loads once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "io/checkpoint.hpp"
#include "models/seq2seq/model_io.hpp"
#include "models/seq2seq/attention.hpp"
#include "models/seq2seq/seq2seq.hpp"
#include "tests/support/torch_twin.hpp"

using namespace loom;
using namespace loom::models::seq2seq;
using namespace loom::io;
namespace fs = std::filesystem;

namespace {

const char* const kScript = test::kTwinScript;
constexpr double kTolerance = 1e-4;       // f32 Loom against f64 PyTorch (measured worst: 2e-5)
constexpr double kExactTolerance = 1e-11;  // f64 against f64 (measured worst: 4e-14)
constexpr double kInitScale = 0.5;  // weights ~ U(-0.5, 0.5)
constexpr int64_t kSrcVocab = 11, kTgtVocab = 13, kEmbed = 6, kHidden = 8;

// One model compared in both frameworks.
struct ParityCase {
  std::string name;  // a file-name and test-name friendly label
  std::string attention;
  int64_t layers = 1;
  double label_smoothing = 0.0;
};

const std::vector<ParityCase>& loom_cases() {
  static const std::vector<ParityCase> cases{
      {"none", "none"},          {"dot", "dot"},         {"scaled_dot", "scaled-dot"},
      {"cosine", "cosine"},      {"general", "general"}, {"additive", "additive"},
      {"general_two_layers_smoothed", "general", 2, 0.1},
  };
  return cases;
}

// Checkpoints written by PyTorch; each is evaluated and trained on in Loom.
const std::vector<ParityCase>& torch_cases() {
  static const std::vector<ParityCase> cases{
      {"torch_additive", "additive", 1, 0.0},
      {"torch_cosine_two_layers_smoothed", "cosine", 2, 0.1},
  };
  return cases;
}

// init_parameters draws from U(-0.1, 0.1); with such small weights every
// attention is nearly uniform and, e.g., additive attention's w_query gets a
// gradient ~1e-11 (softmax ignores a per-row shift). Wider weights make every
// part of the model matter to the loss.
void widen_weights(ParameterStore& params, double factor) {
  for (const auto& entry : params.entries()) {
    TensorRef value = params.value(entry.name);
    for (int64_t i = 0; i < value.numel(); ++i) value.ptr<float>()[i] = float(value.ptr<float>()[i] * factor);
  }
}

std::vector<std::string> synthetic_tokens(int64_t size, const std::string& prefix) {
  std::vector<std::string> tokens{"<pad>", "<unk>", "<bos>", "<eos>"};
  for (int64_t i = 4; i < size; ++i) tokens.push_back(prefix + std::to_string(i));
  return tokens;
}

// B=4, S=6, T=5 with mixed lengths: a full row, a short one, a source of
// <eos> alone and a target of <eos> alone. Words are arbitrary ids >= 4.
models::seq2seq::Batch parity_batch() {
  const std::vector<int32_t> source_lengths{6, 3, 1, 4}, target_lengths{5, 2, 5, 1};
  const int64_t B = 4, S = 6, T = 5;
  std::vector<int32_t> source(B * S, 0), target_input(B * T, 0), target_output(B * T, 0);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t s = 0; s + 1 < source_lengths[b]; ++s)
      source[b * S + s] = int32_t(4 + (7 * b + 3 * s) % (kSrcVocab - 4));
    source[b * S + source_lengths[b] - 1] = text::Vocabulary::kEos;
    target_input[b * T] = text::Vocabulary::kBos;
    for (int64_t t = 0; t + 1 < target_lengths[b]; ++t) {
      const int32_t word = int32_t(4 + (5 * b + 2 * t + 1) % (kTgtVocab - 4));
      target_input[b * T + t + 1] = word;
      target_output[b * T + t] = word;
    }
    target_output[b * T + target_lengths[b] - 1] = text::Vocabulary::kEos;
  }
  models::seq2seq::Batch batch;
  batch.source = Tensor::from_i32({B, S}, source);
  batch.source_lengths = Tensor::from_i32({B}, source_lengths);
  batch.target_input = Tensor::from_i32({B, T}, target_input);
  batch.target_output = Tensor::from_i32({B, T}, target_output);
  for (int32_t n : target_lengths) batch.target_tokens += n;
  return batch;
}

using test::quoted;

// Everything both directions need, prepared once for the whole binary (a
// gtest Environment, so the three suites below share one Python run): Loom
// checkpoints, the batch, PyTorch checkpoints and every PyTorch result.
struct ParityFiles : ::testing::Environment {
  fs::path dir;
  std::string skip_reason, python_log;
  int python_status = -1;
  models::seq2seq::Batch batch;

  std::string file(const std::string& name) const { return (dir / name).string(); }

  void SetUp() override {
    skip_reason = test::torch_twin_missing();
    if (!skip_reason.empty()) return;
    dir = fs::temp_directory_path() / ("loom_torch_parity_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    batch = parity_batch();
    save_safetensors(file("batch.safetensors"),
                     {{"source", batch.source.ref()}, {"source_lengths", batch.source_lengths.ref()},
                      {"target_input", batch.target_input.ref()}, {"target_output", batch.target_output.ref()}});
    std::ofstream(file("commands.txt")) << save_loom_models() << torch_commands();
    const test::TwinRun twin = test::run_twin_jobs(file("commands.txt"), file("python.log"));
    python_status = twin.status;
    python_log = twin.log;
  }

  void TearDown() override {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }

  // Writes each Loom case's checkpoint; returns the PyTorch jobs for them.
  std::string save_loom_models() const {
    const text::Vocabulary src = vocabulary_from_tokens(synthetic_tokens(kSrcVocab, "s"));
    const text::Vocabulary tgt = vocabulary_from_tokens(synthetic_tokens(kTgtVocab, "t"));
    std::string commands;
    uint64_t seed = 11;
    for (const ParityCase& c : loom_cases()) {
      Seq2SeqConfig config;
      config.src_vocab = kSrcVocab;
      config.tgt_vocab = kTgtVocab;
      config.embed = kEmbed;
      config.hidden = kHidden;
      config.layers = c.layers;
      config.attention = c.attention;
      config.label_smoothing = c.label_smoothing;
      Seq2Seq model(config);
      model.init_parameters(seed++);
      widen_weights(model.params(), kInitScale / 0.1);
      save_model(file(c.name + ".safetensors"), model, src, tgt);
      commands += loss_command(c.name + ".safetensors", c.name + ".torch", "");
    }
    return commands;
  }

  // PyTorch writes each torch case's checkpoint, then its training loss (the
  // config's label smoothing) and its evaluation loss (none).
  std::string torch_commands() const {
    std::ostringstream commands;
    uint64_t seed = 101;
    for (const ParityCase& c : torch_cases()) {
      commands << "make --out " << quoted(file(c.name + ".safetensors")) << " --src-vocab " << kSrcVocab
               << " --tgt-vocab " << kTgtVocab << " --embed " << kEmbed << " --hidden " << kHidden << " --layers "
               << c.layers << " --attention " << c.attention << " --label-smoothing " << c.label_smoothing
               << " --init-scale " << kInitScale << " --seed " << seed++ << "\n";
      commands << loss_command(c.name + ".safetensors", c.name + ".torch", "");
      commands << loss_command(c.name + ".safetensors", c.name + ".eval.torch", "--label-smoothing 0");
    }
    return commands.str();
  }

  std::string loss_command(const std::string& checkpoint, const std::string& out, const std::string& flags) const {
    return "loss --double --checkpoint " + quoted(file(checkpoint)) + " --batch " + quoted(file("batch.safetensors")) +
           " --out " + quoted(file(out)) + " " + flags + "\n";
  }
};

ParityFiles* const files = static_cast<ParityFiles*>(::testing::AddGlobalTestEnvironment(new ParityFiles));

class TorchParity : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!files->skip_reason.empty()) GTEST_SKIP() << files->skip_reason;
    ASSERT_EQ(files->python_status, 0) << "loom_torch.py failed:\n" << files->python_log;
  }
  static std::string file(const std::string& name) { return files->file(name); }
  const models::seq2seq::Batch& batch_ = files->batch;
};

double relative_error(double loom, double torch) { return std::fabs(loom - torch) / std::max(std::fabs(torch), 1e-30); }

// ||loom - torch|| / ||torch|| over the whole tensor (an all-zero reference
// needs an all-zero result).
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
std::unique_ptr<Seq2Seq> load_as(const std::string& path, DType dtype) {
  Seq2SeqConfig config = config_from_map(config_from_json(read_checkpoint_info(path).config_json), path);
  config.dtype = dtype;
  auto model = std::make_unique<Seq2Seq>(config);
  load_checkpoint(path, model->params());
  return model;
}

// Loss and every parameter's gradient of `model` against PyTorch's "loss"
// and "grad.<name>"; a failure names each bad tensor, and the worst one.
void expect_loss_and_gradients_match(Seq2Seq& model, double loss, const SafetensorsFile& torch, double tolerance) {
  const double torch_loss = torch.tensor("loss").at(0);
  EXPECT_LE(relative_error(loss, torch_loss), tolerance) << "loss: Loom " << loss << ", PyTorch " << torch_loss;
  std::string worst;
  double worst_error = -1;
  for (const auto& entry : model.params().entries()) {
    ASSERT_TRUE(torch.has("grad." + entry.name)) << "PyTorch wrote no gradient for " << entry.name;
    const Tensor& reference = torch.tensor("grad." + entry.name);
    ASSERT_EQ(reference.shape(), entry.shape) << entry.name;
    const double error = relative_error(model.params().grad(entry.name), reference);
    EXPECT_LE(error, tolerance) << "gradient of " << entry.name << " differs from PyTorch's";
    if (!(error <= worst_error)) worst_error = error, worst = entry.name;
  }
  EXPECT_LE(worst_error, tolerance) << "worst gradient: " << worst << " (relative error " << worst_error << ")";
  EXPECT_EQ(torch.tensors.size(), model.params().entries().size() + 1) << "PyTorch has parameters Loom lacks";
}

class LoomToTorch : public TorchParity, public ::testing::WithParamInterface<ParityCase> {};

// f32 is the model as it trains (bound 1e-4, the issue's); f64 on both sides
// shows the formulas are the same ones, down to where an eps sits (1e-9).
TEST_P(LoomToTorch, LossAndEveryGradientMatchPyTorch) {
  const ParityCase& c = GetParam();
  const std::string path = file(c.name + ".safetensors");
  const SafetensorsFile torch = load_safetensors(file(c.name + ".torch"));
  EXPECT_GT(torch.tensor("loss").at(0), 1.0);  // a real loss, not an empty batch
  for (auto [dtype, tolerance] : {std::pair{DType::F32, kTolerance}, std::pair{DType::F64, kExactTolerance}}) {
    SCOPED_TRACE(dtype == DType::F32 ? "Loom in f32" : "Loom in f64");
    std::unique_ptr<Seq2Seq> model = load_as(path, dtype);
    ASSERT_EQ(model->config().attention, c.attention);
    const double loss = model->train_step_gradients(batch_);
    expect_loss_and_gradients_match(*model, loss, torch, tolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryAttention, LoomToTorch, ::testing::ValuesIn(loom_cases()),
                         [](const auto& info) { return info.param.name; });

class TorchToLoom : public TorchParity, public ::testing::WithParamInterface<ParityCase> {};

TEST_P(TorchToLoom, CheckpointWrittenByPyTorchGivesTheSameLoss) {
  const ParityCase& c = GetParam();
  LoadedModel loaded = load_model(file(c.name + ".safetensors"));
  Seq2Seq& model = *loaded.model;
  EXPECT_EQ(model.config().attention, c.attention);
  EXPECT_EQ(model.config().layers, c.layers);
  EXPECT_EQ(model.config().label_smoothing, c.label_smoothing);
  EXPECT_EQ(loaded.source_vocab.size(), kSrcVocab);
  EXPECT_EQ(loaded.target_vocab.token(4), "t4");
  // Evaluation: plain NLL, no smoothing.
  const EvalResult eval = model.evaluate_batch(batch_);
  EXPECT_EQ(eval.tokens, batch_.target_tokens);
  const double torch_eval = load_safetensors(file(c.name + ".eval.torch")).tensor("loss").at(0);
  EXPECT_LE(relative_error(eval.loss(), torch_eval), kTolerance)
      << "evaluation loss: Loom " << eval.loss() << ", PyTorch " << torch_eval;
  // Training: the config's label smoothing, and every gradient.
  const double loss = model.train_step_gradients(batch_);
  if (c.label_smoothing > 0) {
    EXPECT_GT(std::fabs(loss - eval.loss()), 1e-3) << "label smoothing changed nothing";
  }
  expect_loss_and_gradients_match(model, loss, load_safetensors(file(c.name + ".torch")), kTolerance);
}

INSTANTIATE_TEST_SUITE_P(FromPyTorch, TorchToLoom, ::testing::ValuesIn(torch_cases()),
                         [](const auto& info) { return info.param.name; });

// The names in the twin's ATTENTION_KINDS list, read from its source.
std::vector<std::string> twin_attention_kinds() {
  std::ifstream in(kScript);
  std::string line;
  while (std::getline(in, line) && line.rfind("ATTENTION_KINDS = [", 0) != 0) {
  }
  std::vector<std::string> kinds;
  for (size_t open = line.find('"'); open != std::string::npos;) {
    size_t close = line.find('"', open + 1);
    kinds.push_back(line.substr(open + 1, close - open - 1));
    open = line.find('"', close + 1);
  }
  return kinds;
}

// Every built-in attention kind has a PyTorch twin and a parity case; kinds a
// user registers (examples/) are Loom's own and are skipped by design.
TEST(TorchParityCoverage, EveryBuiltinAttentionKindHasATwinAndACase) {
  const std::vector<std::string> twin = twin_attention_kinds();
  ASSERT_FALSE(twin.empty()) << "no ATTENTION_KINDS list in " << kScript;
  for (const std::string& kind : builtin_attention_names()) {
    EXPECT_NE(std::find(twin.begin(), twin.end(), kind), twin.end()) << kind << " has no PyTorch twin";
    EXPECT_TRUE(std::any_of(loom_cases().begin(), loom_cases().end(),
                            [&](const ParityCase& c) { return c.attention == kind; }))
        << kind << " has no parity case";
  }
  for (const std::string& kind : twin) EXPECT_TRUE(has_attention(kind)) << "the twin knows " << kind << ", Loom does not";
}

// The comparison is sharp: one recurrent weight changed by 10% moves the loss
// or a gradient past the f32 bound, and by 1e-6 past the f64 bound (so the
// agreement above is no luck, and the f64 bound would see an eps misplaced).
TEST_F(TorchParity, ComparisonDetectsAPerturbedWeight) {
  for (auto [change, bound] : {std::pair{0.1, kTolerance}, std::pair{1e-6, kExactTolerance}}) {
    for (const char* name : {"dot", "additive"}) {
      std::unique_ptr<Seq2Seq> model = load_as(file(std::string(name) + ".safetensors"), DType::F64);
      model->params().value("decoder.weight_hh_l0").ptr<double>()[5] *= 1 + change;
      const double loss = model->train_step_gradients(batch_);
      const SafetensorsFile torch = load_safetensors(file(std::string(name) + ".torch"));
      double worst = relative_error(loss, torch.tensor("loss").at(0));
      for (const auto& entry : model->params().entries())
        worst = std::max(worst, relative_error(model->params().grad(entry.name), torch.tensor("grad." + entry.name)));
      EXPECT_GT(worst, bound) << name << ", weight changed by " << change;
    }
  }
}

}  // namespace
