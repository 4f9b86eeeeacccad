// Generation over one compiled step graph (generator.hpp). Each run feeds a
// token and the previous run's states; the first run of a session feeds zero
// states and <bos>.
#include "models/lm/generator.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "ops/ops.hpp"

namespace loom::models::lm {

using text::Vocabulary;

namespace {

std::string layer_name(char what, int64_t k) { return std::string(1, what) + "_l" + std::to_string(k); }

// The model is never trained to predict <pad> (ignored by the loss) or <bos> (never a target).
bool emittable(int64_t token) { return token != Vocabulary::kPad && token != Vocabulary::kBos; }

double element(const TensorRef& r, int64_t i) {
  return r.dtype() == DType::F64 ? r.ptr<double>()[i] : double(r.ptr<float>()[i]);
}

// A uniform double in [0, 1) from 53 bits of the engine's raw output.
double uniform01(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

}  // namespace

void check_generate_options(const GenerateOptions& o) {
  if (o.max_tokens < 0)
    throw std::invalid_argument("generate: max_tokens must be >= 0, got " + std::to_string(o.max_tokens));
  if (!(o.temperature >= 0.0) || !std::isfinite(o.temperature))
    throw std::invalid_argument("generate: temperature must be a finite number >= 0, got " +
                                std::to_string(o.temperature));
  if (o.top_k < 0) throw std::invalid_argument("generate: top_k must be >= 0, got " + std::to_string(o.top_k));
}

int32_t draw_token(const std::vector<double>& logits, const GenerateOptions& o, std::mt19937_64& rng) {
  std::vector<int32_t> ids;
  for (int32_t v = 0; v < int32_t(logits.size()); ++v)
    if (emittable(v)) ids.push_back(v);
  if (ids.empty()) throw std::invalid_argument("generate: the vocabulary has no token that may be emitted");
  // Largest logit first, ties to the lower id: the first of them is the argmax.
  const auto higher = [&](int32_t a, int32_t b) { return logits[size_t(a)] != logits[size_t(b)] ? logits[size_t(a)] > logits[size_t(b)] : a < b; };
  if (o.temperature == 0.0) return *std::min_element(ids.begin(), ids.end(), higher);
  const size_t keep = o.top_k > 0 ? std::min(ids.size(), size_t(o.top_k)) : ids.size();
  std::partial_sort(ids.begin(), ids.begin() + ptrdiff_t(keep), ids.end(), higher);
  ids.resize(keep);
  const double top = logits[size_t(ids.front())] / o.temperature;
  std::vector<double> weights;
  for (int32_t v : ids) weights.push_back(std::exp(logits[size_t(v)] / o.temperature - top));
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  double u = uniform01(rng) * total;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (u < weights[i]) return ids[i];
    u -= weights[i];
  }
  return ids.back();  // u fell past the sum by rounding
}

// ---- the step plan ----------------------------------------------------------------------------

Plan compile_generation_step_plan(const LanguageModel& model) {
  const LmConfig& cfg = model.lm_config();
  const int64_t H = cfg.hidden;
  Graph g;
  ParameterSource p = model.parameter_source(g);
  Var x = model.embed(input(g, "token", {DType::I32, {1}}), p);  // (1,E)
  std::vector<NamedValue> fetch(1);
  for (int64_t k = 0; k < cfg.layers; ++k) {
    ops::LstmState state{input(g, layer_name('h', k), {cfg.dtype, {1, H}}),
                         input(g, layer_name('c', k), {cfg.dtype, {1, H}})};
    const LanguageModel::LstmWeights w = model.lstm_weights(p, k);
    state = ops::lstm_cell(x, state, w.w_ih, w.w_hh, w.b_ih, w.b_hh);
    x = state.h;  // (1,H)
    fetch.push_back({layer_name('h', k), state.h.value});
    fetch.push_back({layer_name('c', k), state.c.value});
  }
  fetch[0] = {"logits", named(model.output_layer(x, p), "logits").value};  // (1,V)
  CompileOptions options = model.compile_options();
  options.pack_parameter_weights = true;  // run once per token between weight updates
  return compile(g, fetch, options);
}

// One prompt being continued: the step plan and its outputs by index.
struct Generator::Session {
  Executor* exec = nullptr;
  int64_t L = 0, V = 0;
  size_t logits = 0;
  std::vector<size_t> h_out, c_out;
  Tensor token{DType::I32, {1}};

  // One step from `id`; the states are the previous run's (zeros at first).
  void advance(int32_t id, bool first, const Tensor& zeros) {
    token.set(0, double(id));
    exec->set_input("token", token);
    for (int64_t k = 0; k < L; ++k) {
      if (first) {
        exec->set_input(layer_name('h', k), zeros);
        exec->set_input(layer_name('c', k), zeros);
      } else {  // outputs live in the transient arena, inputs in their own: no overlap
        exec->set_input(layer_name('h', k), exec->output(h_out[size_t(k)]));
        exec->set_input(layer_name('c', k), exec->output(c_out[size_t(k)]));
      }
    }
    exec->run();
  }
  std::vector<double> read_logits() const {
    const TensorRef r = exec->output(logits);
    std::vector<double> out(static_cast<size_t>(V));
    for (int64_t v = 0; v < V; ++v) out[size_t(v)] = element(r, v);
    return out;
  }
};

Generator::Generator(LanguageModel& model) : model_(&model) {}
Generator::~Generator() = default;

Executor& Generator::step() {
  if (!step_) step_ = std::make_unique<Executor>(compile_generation_step_plan(*model_), model_->params());
  return *step_;
}

// Runs <bos> and the prompt; the step's logits are then those of the first new token.
Generator::Session Generator::start(const std::vector<int32_t>& prompt) {
  const LmConfig& cfg = model_->lm_config();
  for (int32_t id : prompt)
    if (id < 0 || id >= cfg.vocab)
      throw std::invalid_argument("generate: prompt id " + std::to_string(id) + " is outside [0, " +
                                  std::to_string(cfg.vocab) + ")");
  Session s;
  s.exec = &step();
  s.L = cfg.layers;
  s.V = cfg.vocab;
  s.logits = s.exec->output_index("logits");
  for (int64_t k = 0; k < s.L; ++k) {
    s.h_out.push_back(s.exec->output_index(layer_name('h', k)));
    s.c_out.push_back(s.exec->output_index(layer_name('c', k)));
  }
  const Tensor zeros(cfg.dtype, {1, cfg.hidden});
  s.advance(Vocabulary::kBos, true, zeros);
  for (int32_t id : prompt) s.advance(id, false, zeros);
  return s;
}

std::vector<double> Generator::next_logits(const std::vector<int32_t>& prompt) { return start(prompt).read_logits(); }

Generation Generator::generate_ids(const std::vector<int32_t>& prompt, const GenerateOptions& options) {
  check_generate_options(options);
  Generation out;
  out.prompt = prompt;
  Session s = start(prompt);
  std::mt19937_64 rng(options.seed);
  const Tensor unused;
  for (int64_t n = 0; n < options.max_tokens; ++n) {
    const int32_t next = draw_token(s.read_logits(), options, rng);
    if (next == Vocabulary::kEos) {
      out.finished = true;
      break;
    }
    out.tokens.push_back(next);
    if (n + 1 < options.max_tokens) s.advance(next, false, unused);
  }
  std::vector<std::string> tokens;
  for (int32_t id : out.tokens) tokens.push_back(model_->vocab().token(id));
  out.text = join_units(tokens, model_->lm_config().unit);
  return out;
}

Generation Generator::generate(const std::string& prompt, const GenerateOptions& options) {
  check_generate_options(options);
  return generate_ids(model_->vocab().encode(split_units(prompt, model_->lm_config().unit)), options);
}

}  // namespace loom::models::lm
