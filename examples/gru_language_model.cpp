// "gru-lm", a user's GRU language model (gru_language_model.hpp): its graph
// built from primitive ops, its plans per batch shape, its checkpoint config
// and its model family, registered by register_gru_language_model().
#include "examples/gru_language_model.hpp"

#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>

#include "examples/register_examples.hpp"
#include "graph/errors.hpp"
#include "io/checkpoint.hpp"
#include "io/config_check.hpp"
#include "io/safetensors.hpp"
#include "ops/ops.hpp"

namespace loom::examples {

using io::CheckpointError;
using io::SafetensorsEntry;
using io::SafetensorsHeader;
using models::lm::LmBatch;
using models::lm::Unit;
using runtime::ParameterSource;
using text::Vocabulary;

namespace {

constexpr int64_t kMaxWidth = 8192;        // --embed, --hidden: past this it is a typo, not a model
constexpr int64_t kMaxLength = 4096;       // --max-length: the steps one plan unrolls
constexpr int64_t kEvaluationBatch = 64;   // rows of an evaluation batch (file order)

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw CheckpointError("checkpoint file '" + path + "': " + what);
}

void check_config(const GruConfig& c) {
  if (c.vocab <= Vocabulary::kReserved)
    throw std::invalid_argument("gru-lm: vocab must exceed the 4 reserved ids, got " + std::to_string(c.vocab));
  if (c.embed <= 0 || c.hidden <= 0 || c.embed > kMaxWidth || c.hidden > kMaxWidth)
    throw std::invalid_argument("gru-lm: embed and hidden must be in [1, " + std::to_string(kMaxWidth) + "], got " +
                                std::to_string(c.embed) + " and " + std::to_string(c.hidden));
  if (!(c.dropout >= 0.0 && c.dropout < 1.0))  // NaN fails too
    throw std::invalid_argument("gru-lm: dropout must be in [0, 1), got " + std::to_string(c.dropout));
  if (c.dtype == DType::I32) throw std::invalid_argument("gru-lm: dtype must be f32 or f64");
}

}  // namespace

std::vector<std::pair<std::string, Shape>> gru_parameter_shapes(const GruConfig& c) {
  check_config(c);
  const int64_t G = 3 * c.hidden;
  return {{"embedding.weight", Shape{c.vocab, c.embed}}, {"gru.weight_ih_l0", Shape{G, c.embed}},
          {"gru.weight_hh_l0", Shape{G, c.hidden}},      {"gru.bias_ih_l0", Shape{G}},
          {"gru.bias_hh_l0", Shape{G}},                  {"out.weight", Shape{c.vocab, c.hidden}},
          {"out.bias", Shape{c.vocab}}};
}

// ---- the model ----------------------------------------------------------------------------------

GruLanguageModel::GruLanguageModel(GruConfig config, text::Vocabulary vocab)
    : config_(config), vocab_(std::move(vocab)), params_(config.dtype) {
  const auto shapes = gru_parameter_shapes(config_);
  if (vocab_.size() != config_.vocab)
    throw std::invalid_argument("gru-lm: the vocabulary has " + std::to_string(vocab_.size()) +
                                " tokens but the config says vocab=" + std::to_string(config_.vocab));
  for (const auto& [name, shape] : shapes) params_.declare(name, shape);
}

void GruLanguageModel::init_parameters(uint64_t seed) {
  std::mt19937_64 rng(seed);
  params_.fill_uniform(rng, 0.1);
  params_.zero_grads();
}

std::map<std::string, std::string> GruLanguageModel::config() const {
  char dropout[32];
  std::snprintf(dropout, sizeof dropout, "%.17g", config_.dropout);
  return {{"vocab", std::to_string(config_.vocab)},   {"embed", std::to_string(config_.embed)},
          {"hidden", std::to_string(config_.hidden)}, {"dropout", dropout},
          {"unit", models::lm::unit_name(config_.unit)}, {"seed", std::to_string(config_.seed)}};
}

std::map<std::string, std::string> GruLanguageModel::metadata() const {
  return {{models::lm::kVocabKey, io::token_list_json(io::vocabulary_tokens(vocab_))}};
}

// The cell, PyTorch's nn.GRU, gates in rows [r; z; n]:
//   r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr)      z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)
//   n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))
//   h' = (1 − z) ⊙ n + z ⊙ h, written n + z ⊙ (h − n); h0 = 0.
// The input projection of all T steps is one matmul; each step then adds one
// (B,H)·(H,3H) product. No padding mask is needed: targets past a row's
// length are <pad>, which the loss ignores, and a unidirectional RNN's later
// steps never reach its earlier outputs, so padded steps change no loss term
// and no gradient.
Var GruLanguageModel::gru(Var x, const ParameterSource& p) const {
  Graph& g = *x.graph;
  const int64_t B = x.dim(0), T = x.dim(1), E = x.dim(2), H = config_.hidden, G = 3 * H;
  Var w_ih = p("gru.weight_ih_l0", {G, E}), w_hh = p("gru.weight_hh_l0", {G, H});
  Var b_ih = p("gru.bias_ih_l0", {G}), b_hh = p("gru.bias_hh_l0", {G});
  Var projected = ops::reshape(ops::matmul(ops::reshape(x, {B * T, E}), w_ih, false, true) + b_ih, {B, T, G});
  auto gate = [H](Var v, int64_t k) { return ops::slice(v, 1, k * H, (k + 1) * H); };
  Var h = ops::fill(g, {config_.dtype, {B, H}}, 0.0);
  std::vector<Var> states;
  states.reserve(size_t(T));
  for (int64_t t = 0; t < T; ++t) {
    Var xi = ops::reshape(ops::slice(projected, 1, t, t + 1), {B, G});  // (B,3H)
    Var hh = ops::matmul(h, w_hh, false, true) + b_hh;                 // (B,3H)
    Var r = ops::sigmoid(gate(xi, 0) + gate(hh, 0));
    Var z = ops::sigmoid(gate(xi, 1) + gate(hh, 1));
    Var n = ops::tanh(gate(xi, 2) + r * gate(hh, 2));
    h = n + z * (h - n);
    states.push_back(h);
  }
  return ops::reshape(ops::concat(states, 1), {B, T, H});  // row b: h_0(b) .. h_{T-1}(b)
}

Var GruLanguageModel::loss(Graph& g, const ParameterSource& p, int64_t B, int64_t T,
                           runtime::DropoutSites& drop) const {
  const int64_t V = config_.vocab;
  Var in = input(g, "input", {DType::I32, {B, T}}), target = input(g, "target", {DType::I32, {B, T}});
  Var x = drop.apply(ops::embedding(p("embedding.weight", {V, config_.embed}), in));  // (B,T,E)
  Var y = drop.apply(gru(x, p));                                                       // (B,T,H)
  Var logits = ops::reshape(ops::linear(y, p("out.weight", {V, config_.hidden}), p("out.bias", {V})), {B * T, V});
  return named(ops::cross_entropy(logits, ops::reshape(target, {B * T}), Vocabulary::kPad), "loss");
}

// ---- plans per batch shape ----------------------------------------------------------------------

namespace {

const LmBatch& checked(const runtime::Batch& any) {
  const LmBatch& b = runtime::batch_as<LmBatch>(any);
  if (b.input.shape().rank() != 2 || !(b.input.shape() == b.target.shape()))
    throw ShapeError("gru-lm: inconsistent batch: input " + b.input.shape().str() + ", target " +
                     b.target.shape().str());
  return b;
}

// The dropout sites of one batch shape's training graph: masks follow the
// model's seed and differ between shapes; the runtime's run index (the
// trainer's step) varies them from step to step.
runtime::DropoutSites training_dropout(const GruConfig& c, int64_t B, int64_t T) {
  return runtime::DropoutSites(c.dropout, runtime::shape_dropout_seed(c.seed, uint64_t(B) << 32 ^ uint64_t(T)));
}

void feed(Executor& exec, const LmBatch& b) {
  exec.set_input("input", b.input);
  exec.set_input("target", b.target);
}

}  // namespace

std::string GruLanguageModel::shape_key(const runtime::Batch& batch) const {
  const LmBatch& b = checked(batch);
  return shape_signature({{"B", b.rows()}, {"T", b.length()}});
}

Plan GruLanguageModel::training_plan(const runtime::Batch& batch) const {
  const LmBatch& b = checked(batch);
  return runtime_.training_plan([&](Graph& g, const ParameterSource& p) {
    runtime::DropoutSites drop = training_dropout(config_, b.rows(), b.length());
    return loss(g, p, b.rows(), b.length(), drop);
  });
}

Plan GruLanguageModel::evaluation_plan(const runtime::Batch& batch) const {
  const LmBatch& b = checked(batch);
  return runtime_.evaluation_plan([&](Graph& g, const ParameterSource& p) {
    runtime::DropoutSites none;
    return std::vector<NamedValue>{{"loss", loss(g, p, b.rows(), b.length(), none).value}};
  });
}

double GruLanguageModel::train_step(const runtime::Batch& batch) {
  const LmBatch& b = checked(batch);
  const int64_t B = b.rows(), T = b.length();
  return runtime_.train(
      shape_key(b),
      [&](Graph& g, const ParameterSource& p) {
        runtime::DropoutSites drop = training_dropout(config_, B, T);
        return loss(g, p, B, T, drop);
      },
      [&](Executor& exec) { feed(exec, b); });
}

runtime::Evaluation GruLanguageModel::evaluate_batch(const runtime::Batch& batch) {
  const LmBatch& b = checked(batch);
  const int64_t B = b.rows(), T = b.length();
  Executor& exec = runtime_.evaluate(
      shape_key(b),
      [&](Graph& g, const ParameterSource& p) {
        runtime::DropoutSites none;
        return std::vector<NamedValue>{{"loss", loss(g, p, B, T, none).value}};
      },
      [&](Executor& e) { feed(e, b); });
  return {runtime::scalar_output(exec, "loss") * double(b.tokens), b.tokens, {}};
}

std::vector<runtime::Metric> GruLanguageModel::metrics(const runtime::Evaluation& totals, const runtime::Dataset&,
                                                       bool) {
  return models::lm::text_metrics(totals, config_.unit);
}

std::vector<std::string> GruLanguageModel::logged_metrics() const { return models::lm::logged_text_metrics(config_.unit); }

// ---- the checkpoint's config --------------------------------------------------------------------

namespace {

// loom.config's keys, each error naming the file and the key.
struct ConfigReader {
  std::map<std::string, std::string> values;
  const std::string& path;

  const std::string& get(const std::string& key) const {
    auto it = values.find(key);
    if (it == values.end()) fail(path, "loom.config has no '" + key + "'");
    return it->second;
  }
  int64_t integer(const std::string& key) const {
    const std::string& text = get(key);
    try {
      size_t used = 0;
      const int64_t x = std::stoll(text, &used);
      if (used == text.size()) return x;
    } catch (const std::logic_error&) {
    }
    fail(path, "loom.config '" + key + "' is not an integer: '" + text + "'");
  }
  double fraction(const std::string& key) const {
    const std::string& text = get(key);
    double x = NAN;
    try {
      x = std::stod(text);
    } catch (const std::logic_error&) {
    }
    if (!(x >= 0.0 && x < 1.0)) fail(path, "loom.config '" + key + "' must be a number in [0, 1), got '" + text + "'");
    return x;
  }
};

// The config against the file's tensors: each size read off one tensor
// first (so a contradiction names the key and the tensor), then the whole
// layout. Sizes that agree with the file are bounded by its validated size.
void check_against_file(const GruConfig& c, const SafetensorsHeader& header) {
  const io::ConfigAgainstFile file(header);
  file.expect_dim("vocab", c.vocab, "embedding.weight", 0);
  file.expect_dim("embed", c.embed, "embedding.weight", 1);
  file.expect_dim("hidden", c.hidden, "gru.weight_hh_l0", 1);
  std::vector<std::pair<std::string, Shape>> expected;
  try {
    expected = gru_parameter_shapes(c);
  } catch (const std::invalid_argument& e) {
    file.fail(e.what());
  }
  file.expect_layout(expected, "gru-lm's loom.config");
}

}  // namespace

GruConfig gru_config_from_checkpoint(const std::string& path, const io::CheckpointInfo& info) {
  if (info.model_kind != kGruKind)
    fail(path, "holds a '" + runtime::checkpoint_model_kind(info) + "' model, not a GRU language model (gru-lm)");
  const ConfigReader r{io::config_from_json(info.config_json), path};
  GruConfig c;
  c.vocab = r.integer("vocab");
  c.embed = r.integer("embed");
  c.hidden = r.integer("hidden");
  c.dropout = r.fraction("dropout");
  try {
    c.unit = models::lm::unit_from_name(r.get("unit"));
  } catch (const std::invalid_argument& e) {
    fail(path, std::string("loom.config 'unit': ") + e.what());
  }
  c.seed = uint64_t(r.integer("seed"));
  check_against_file(c, io::read_safetensors_header(path));
  return c;
}

// ---- the family ---------------------------------------------------------------------------------

namespace {

std::vector<runtime::OptionSpec> gru_options() {
  using runtime::OptionSpec;
  return {
      OptionSpec::integer("embed", 64, "embedding size E", 1, kMaxWidth).fixed_by_checkpoint(),
      OptionSpec::integer("hidden", 128, "GRU hidden size H", 1, kMaxWidth).fixed_by_checkpoint(),
      OptionSpec::real("dropout", 0.1, "dropout on embeddings and GRU outputs", 0, 1, true).fixed_by_checkpoint(),
      OptionSpec::text("unit", "word", "tokens are words (the tokenizer's, lower-cased) or characters (code points)",
                       {"word", "char"})
          .fixed_by_checkpoint(),
      OptionSpec::integer("min-freq", 1, "rarer tokens become <unk>", 1),
      OptionSpec::integer("max-vocab", 0, "largest vocabulary, reserved ids included (0 = no limit)", 0),
      OptionSpec::integer("max-length", 64,
                          "longer lines are cut into sequences of this many tokens (the steps a plan unrolls)", 1,
                          kMaxLength),
      OptionSpec::integer("length-multiple", 8, "pad batch lengths up to a multiple of this, so fewer plans are compiled",
                          1, 64),
  };
}

runtime::ModelBlueprint describe_gru(const runtime::RunRequest& r) {
  text::VocabularyOptions vo;
  vo.min_frequency = runtime::option_integer(r.options, "min-freq");
  vo.max_size = runtime::option_integer(r.options, "max-vocab");
  GruConfig c;
  c.unit = models::lm::unit_from_name(runtime::option_text(r.options, "unit"));
  auto vocab = std::make_shared<Vocabulary>(models::lm::build_vocabulary(r.train_path, c.unit, vo));
  c.vocab = vocab->size();
  c.embed = runtime::option_integer(r.options, "embed");
  c.hidden = runtime::option_integer(r.options, "hidden");
  c.dropout = runtime::option_real(r.options, "dropout");
  c.seed = r.seed;
  return {gru_parameter_shapes(c), [c, vocab]() -> std::unique_ptr<runtime::Model> {
            return std::make_unique<GruLanguageModel>(c, *vocab);
          }};
}

std::unique_ptr<runtime::Model> restore_gru(const std::string& path, const io::CheckpointInfo& info) {
  const GruConfig c = gru_config_from_checkpoint(path, info);
  Vocabulary vocab = io::vocabulary_from_tokens(io::token_list(info, models::lm::kVocabKey, path));
  if (vocab.size() != c.vocab)
    fail(path, std::string(models::lm::kVocabKey) + " has " + std::to_string(vocab.size()) +
                   " tokens but loom.config says vocab=" + std::to_string(c.vocab));
  return std::make_unique<GruLanguageModel>(c, std::move(vocab));
}

std::unique_ptr<runtime::Dataset> open_text(const runtime::Model& model, const std::string& path,
                                            const runtime::RunRequest& r, bool training) {
  const auto& gru = dynamic_cast<const GruLanguageModel&>(model);
  models::lm::DataOptions o;
  o.batch_size = training ? r.batch_size : kEvaluationBatch;
  o.max_length = runtime::option_integer(r.options, "max-length");
  o.length_multiple = runtime::option_integer(r.options, "length-multiple");
  o.seed = r.seed;
  o.shuffle = training;
  return std::make_unique<models::lm::LmData>(path, gru.gru_config().unit, gru.vocab(), o);
}

}  // namespace

void register_gru_language_model() {
  runtime::register_model_family(kGruKind, "a GRU language model built from primitive ops (example, not core)", [] {
    runtime::ModelFamily f;
    f.default_train = "data/kjv/train.txt";
    f.default_valid = "data/kjv/valid.txt";
    f.data_help = "plain text, one sequence per line (UTF-8)";
    f.options = gru_options();
    f.describe = describe_gru;
    f.restore = restore_gru;
    f.open_data = open_text;
    return f;
  });
}

}  // namespace loom::examples
