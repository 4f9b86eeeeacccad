// The encoder-decoder's graphs and its per-shape plans. A training entry
// fetches the loss and one gradient per parameter, each delivered into the
// ParameterStore's grad buffer by the executor (ExecutorOptions::
// output_targets), which also deals with gradients that are one value (the
// LSTM's b_ih and b_hh).
#include "models/seq2seq.hpp"

#include <charconv>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <stdexcept>

#include "autograd/grad.hpp"
#include "graph/errors.hpp"
#include "graph/plan.hpp"
#include "ops/ops.hpp"
#include "text/vocabulary.hpp"

namespace loom::models {

// ---- batch inputs -----------------------------------------------------------------------------

BatchInputs declare_batch_inputs(Graph& g, int64_t B, int64_t S, int64_t T, DType dtype) {
  return {input(g, "source", {DType::I32, {B, S}}),        input(g, "source_lengths", {DType::I32, {B}}),
          input(g, "source_mask", {dtype, {B, 1, S}}),      input(g, "target_input", {DType::I32, {B, T}}),
          input(g, "target_output", {DType::I32, {B, T}}), input(g, "target_lengths", {DType::I32, {B}})};
}

void fill_mask_and_lengths(const text::Batch& batch, Tensor& source_mask, Tensor& target_lengths) {
  const int64_t B = batch.source.shape()[0], S = batch.source.shape()[1], T = batch.target_output.shape()[1];
  const int32_t* src_len = batch.source_lengths.data<int32_t>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) source_mask.set(b * S + s, s < src_len[b] ? 1.0 : 0.0);
  const int32_t* tgt = batch.target_output.data<int32_t>();
  int32_t* tgt_len = target_lengths.data<int32_t>();
  for (int64_t b = 0; b < B; ++b) {
    int32_t n = 0;
    for (int64_t t = 0; t < T; ++t) n += tgt[b * T + t] != text::Vocabulary::kPad;
    tgt_len[b] = n;
  }
}

std::vector<std::pair<std::string, Tensor>> batch_feeds(const text::Batch& batch, DType dtype) {
  const int64_t B = batch.source.shape()[0], S = batch.source.shape()[1];
  Tensor mask(dtype, {B, 1, S}), lengths(DType::I32, {B});
  fill_mask_and_lengths(batch, mask, lengths);
  return {{"source", batch.source},           {"source_lengths", batch.source_lengths},
          {"source_mask", mask},              {"target_input", batch.target_input},
          {"target_output", batch.target_output}, {"target_lengths", lengths}};
}

// ---- dropout and results ----------------------------------------------------------------------

namespace {

uint64_t mix_seed(uint64_t x) {  // splitmix64's finaliser
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

Var DropoutSites::apply(Var x) {
  if (p_ <= 0.0) return x;
  return ops::dropout(x, p_, mix_seed(base_ + mix_seed(next_site_++)));
}

EvalResult& EvalResult::operator+=(const EvalResult& o) {
  loss_sum += o.loss_sum;
  tokens += o.tokens;
  correct += o.correct;
  return *this;
}

// ---- construction -----------------------------------------------------------------------------

struct Seq2Seq::TrainEntry {
  std::unique_ptr<Executor> exec;  // fetches: "loss", "grad:<parameter>"
  Tensor source_mask, target_lengths;
};

struct Seq2Seq::EvalEntry {
  std::unique_ptr<Executor> exec;  // fetches: "loss", "logits" (B·T,Vt)
  Tensor source_mask, target_lengths;
};

namespace {

// NaN fails every comparison, so the ranges are written to fail for it.
void check_config(const Seq2SeqConfig& c) {
  if (c.src_vocab <= text::Vocabulary::kReserved || c.tgt_vocab <= text::Vocabulary::kReserved)
    throw std::invalid_argument("Seq2SeqConfig: src_vocab and tgt_vocab must exceed the 4 reserved ids, got " +
                                std::to_string(c.src_vocab) + " and " + std::to_string(c.tgt_vocab));
  if (c.embed <= 0 || c.hidden <= 0 || c.layers <= 0)
    throw std::invalid_argument("Seq2SeqConfig: embed, hidden and layers must be positive");
  if (!(c.dropout >= 0.0 && c.dropout < 1.0)) throw std::invalid_argument("Seq2SeqConfig: dropout must be in [0, 1)");
  if (!(c.label_smoothing >= 0.0 && c.label_smoothing < 1.0))
    throw std::invalid_argument("Seq2SeqConfig: label_smoothing must be in [0, 1)");
  if (c.dtype == DType::I32) throw std::invalid_argument("Seq2SeqConfig: dtype must be f32 or f64");
}

struct AttentionParameters {
  std::vector<std::pair<std::string, Shape>> shapes;
  bool has_context = true;
};

// Builds the attention layer once on a 1x1x1 scratch graph, recording the
// parameters it asks for (and whether it yields a context). Graph inputs
// hold shapes only, so nothing of size H x H is allocated.
AttentionParameters discover_attention_parameters(const Attention& attention, int64_t H, DType dtype) {
  Graph g;
  AttentionParameters found;
  std::map<std::string, Var> made;
  ParameterSource record = [&](const std::string& name, const Shape& shape) {
    if (name.rfind("attention.", 0) != 0)
      throw std::invalid_argument("attention '" + attention.name() + "' asked for parameter '" + name +
                                  "'; attention parameters must be named \"attention.*\"");
    auto it = made.find(name);
    if (it != made.end()) return it->second;
    found.shapes.emplace_back(name, shape);
    return made.emplace(name, input(g, name, {dtype, shape})).first->second;
  };
  Var d = input(g, "d", {dtype, {1, 1, H}}), e = input(g, "e", {dtype, {1, 1, H}});
  Var mask = input(g, "mask", {dtype, {1, 1, 1}});
  AttentionOutput out = attention.build(g, {d, e, mask, H, record});
  found.has_context = out.context.graph != nullptr;
  return found;
}

std::vector<std::pair<std::string, Shape>> parameter_layout(const Seq2SeqConfig& c, const AttentionParameters& a) {
  const int64_t E = c.embed, H = c.hidden, G = 4 * H;
  std::vector<std::pair<std::string, Shape>> out;
  out.emplace_back("src_embedding.weight", Shape{c.src_vocab, E});
  out.emplace_back("tgt_embedding.weight", Shape{c.tgt_vocab, E});
  for (const char* side : {"encoder", "decoder"}) {
    for (int64_t k = 0; k < c.layers; ++k) {
      std::string l = std::to_string(k), s = side;
      out.emplace_back(s + ".weight_ih_l" + l, Shape{G, k == 0 ? E : H});
      out.emplace_back(s + ".weight_hh_l" + l, Shape{G, H});
      out.emplace_back(s + ".bias_ih_l" + l, Shape{G});
      out.emplace_back(s + ".bias_hh_l" + l, Shape{G});
    }
  }
  out.insert(out.end(), a.shapes.begin(), a.shapes.end());
  out.emplace_back("out.weight", Shape{c.tgt_vocab, a.has_context ? 2 * H : H});
  out.emplace_back("out.bias", Shape{c.tgt_vocab});
  return out;
}

}  // namespace

std::vector<std::pair<std::string, Shape>> seq2seq_parameter_shapes(const Seq2SeqConfig& config) {
  check_config(config);
  std::unique_ptr<Attention> attention = make_attention(config.attention);
  return parameter_layout(config, discover_attention_parameters(*attention, config.hidden, config.dtype));
}

Seq2Seq::Seq2Seq(Seq2SeqConfig config)
    : config_(std::move(config)),
      params_(config_.dtype),
      train_plans_(std::make_unique<BasicPlanCache<TrainEntry>>()),
      eval_plans_(std::make_unique<BasicPlanCache<EvalEntry>>()) {
  check_config(config_);
  attention_ = make_attention(config_.attention);
  key_.reserve(64);
  const AttentionParameters attention = discover_attention_parameters(*attention_, config_.hidden, config_.dtype);
  has_context_ = attention.has_context;
  for (auto& [name, shape] : parameter_layout(config_, attention)) params_.declare(name, shape);
}

Seq2Seq::~Seq2Seq() = default;

void Seq2Seq::init_parameters(uint64_t seed) {
  std::mt19937_64 rng(seed);
  params_.fill_uniform(rng, 0.1);
  params_.zero_grads();
}

// ---- graph building ---------------------------------------------------------------------------

ParameterSource Seq2Seq::parameter_source(Graph& g) const {
  auto made = std::make_shared<std::map<std::string, Var>>();
  const ParameterStore* store = &params_;
  DType dtype = config_.dtype;
  return [&g, made, store, dtype](const std::string& name, const Shape& shape) {
    auto it = made->find(name);
    if (it != made->end()) return it->second;
    const Shape& declared = store->entry(name).shape;  // throws GraphError naming a missing parameter
    if (!(declared == shape))
      throw ShapeError("parameter '" + name + "' is declared " + declared.str() + " but requested as " + shape.str());
    Var v = parameter(g, name, {dtype, shape});
    made->emplace(name, v);
    return v;
  };
}

Seq2Seq::LstmWeights Seq2Seq::lstm_weights(const ParameterSource& p, const std::string& side, int64_t layer) const {
  const int64_t H = config_.hidden, G = 4 * H, in = layer == 0 ? config_.embed : H;
  const std::string l = std::to_string(layer);
  return {p(side + ".weight_ih_l" + l, {G, in}), p(side + ".weight_hh_l" + l, {G, H}), p(side + ".bias_ih_l" + l, {G}),
          p(side + ".bias_hh_l" + l, {G})};
}

Var Seq2Seq::embed(Var ids, const std::string& side, const ParameterSource& p) const {
  int64_t V = side == "src" ? config_.src_vocab : config_.tgt_vocab;
  return ops::embedding(p(side + "_embedding.weight", {V, config_.embed}), ids);
}

Seq2Seq::Encoded Seq2Seq::build_encoder(Var source, Var lengths, const ParameterSource& p,
                                        DropoutSites& drop) const {
  Graph& g = *source.graph;
  const int64_t B = source.dim(0);
  Var zeros = ops::fill(g, {config_.dtype, {B, config_.hidden}}, 0.0);
  Encoded enc;
  Var x = drop.apply(embed(source, "src", p));  // (B,S,E)
  for (int64_t k = 0; k < config_.layers; ++k) {
    LstmWeights w = lstm_weights(p, "encoder", k);
    ops::LstmSequenceResult r = ops::lstm_sequence(x, lengths, {zeros, zeros}, w.w_ih, w.w_hh, w.b_ih, w.b_hh);
    x = drop.apply(r.output);  // (B,S,H)
    enc.states.push_back({r.h, r.c});
  }
  enc.outputs = named(x, "encoder.outputs");
  return enc;
}

Var Seq2Seq::build_decoder(Var target_input, Var target_lengths, const std::vector<ops::LstmState>& initial,
                           const ParameterSource& p, DropoutSites& drop) const {
  Var x = drop.apply(embed(target_input, "tgt", p));  // (B,T,E)
  for (int64_t k = 0; k < config_.layers; ++k) {
    LstmWeights w = lstm_weights(p, "decoder", k);
    ops::LstmSequenceResult r =
        ops::lstm_sequence(x, target_lengths, initial.at(size_t(k)), w.w_ih, w.w_hh, w.b_ih, w.b_hh);
    x = drop.apply(r.output);  // (B,T,H)
  }
  return named(x, "decoder.outputs");
}

AttentionOutput Seq2Seq::build_attention(Var decoder, Var encoder, Var mask, const ParameterSource& p) const {
  return attention_->build(*decoder.graph, {decoder, encoder, mask, config_.hidden, p});
}

Var Seq2Seq::build_logits(Var decoder, const AttentionOutput& attention, const ParameterSource& p) const {
  const int64_t H = config_.hidden, V = config_.tgt_vocab;
  Var features = has_context_ ? ops::concat({decoder, attention.context}, -1) : decoder;  // (B,T,2H) or (B,T,H)
  Var w = p("out.weight", {V, has_context_ ? 2 * H : H});
  return named(ops::linear(features, w, p("out.bias", {V})), "logits");  // (B,T,V)
}

Seq2Seq::Forward Seq2Seq::build_forward(const BatchInputs& in, const ParameterSource& p, DropoutSites& drop,
                                        double label_smoothing) const {
  const int64_t B = in.target_input.dim(0), T = in.target_input.dim(1);
  Encoded enc = build_encoder(in.source, in.source_lengths, p, drop);
  Var dec = build_decoder(in.target_input, in.target_lengths, enc.states, p, drop);
  AttentionOutput att = build_attention(dec, enc.outputs, in.source_mask, p);
  Var logits = ops::reshape(build_logits(dec, att, p), {B * T, config_.tgt_vocab});
  Var targets = ops::reshape(in.target_output, {B * T});
  Var loss = named(ops::cross_entropy(logits, targets, text::Vocabulary::kPad, label_smoothing), "loss");
  return {logits, loss, att};
}

// ---- plans per batch shape -------------------------------------------------------------------

namespace {

double scalar_of(const TensorRef& r) {
  return r.dtype() == DType::F64 ? r.ptr<double>()[0] : double(r.ptr<float>()[0]);
}

void feed_batch(Executor& exec, const text::Batch& batch, const Tensor& mask, const Tensor& target_lengths) {
  exec.set_input("source", batch.source);
  exec.set_input("source_lengths", batch.source_lengths);
  exec.set_input("source_mask", mask);
  exec.set_input("target_input", batch.target_input);
  exec.set_input("target_output", batch.target_output);
  exec.set_input("target_lengths", target_lengths);
}

void append_dim(std::string& key, char name, int64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  if (!key.empty()) key += ',';
  key += name;
  key += '=';
  key.append(digits, end);
}

}  // namespace

// "B=32,S=20,T=18" (the convention of shape_signature), written into a reused
// string so a warm step does not allocate.
const std::string& Seq2Seq::shape_key(const text::Batch& batch) {
  if (batch.source.shape().rank() != 2 || batch.target_input.shape().rank() != 2 ||
      !(batch.target_input.shape() == batch.target_output.shape()) ||
      batch.source_lengths.shape().numel() != batch.source.shape()[0] ||
      batch.target_input.shape()[0] != batch.source.shape()[0])
    throw ShapeError("Seq2Seq: inconsistent batch: source " + batch.source.shape().str() + ", source_lengths " +
                     batch.source_lengths.shape().str() + ", target_input " + batch.target_input.shape().str() +
                     ", target_output " + batch.target_output.shape().str());
  key_.clear();
  append_dim(key_, 'B', batch.source.shape()[0]);
  append_dim(key_, 'S', batch.source.shape()[1]);
  append_dim(key_, 'T', batch.target_input.shape()[1]);
  return key_;
}

CompileOptions Seq2Seq::batch_plan_options() const {
  CompileOptions options = compile_options_;
  options.matmul_precision = config_.matmul_precision;
  return options;
}

Plan Seq2Seq::training_plan(int64_t B, int64_t S, int64_t T) const {
  Graph g;
  BatchInputs in = declare_batch_inputs(g, B, S, T, config_.dtype);
  ParameterSource p = parameter_source(g);
  // Masks differ between shapes and follow the model seed.
  const uint64_t shape_bits = uint64_t(B) << 40 ^ uint64_t(S) << 20 ^ uint64_t(T);
  DropoutSites drop(config_.dropout, mix_seed(config_.seed ^ mix_seed(shape_bits)));
  Forward f = build_forward(in, p, drop, config_.label_smoothing);
  const auto& entries = params_.entries();
  std::vector<Var> wrt;
  for (const auto& entry : entries) wrt.push_back(p(entry.name, entry.shape));
  const std::vector<Var> grads = grad(f.loss, wrt);
  std::vector<NamedValue> fetch{{"loss", f.loss.value}};
  for (size_t i = 0; i < entries.size(); ++i) fetch.push_back({"grad:" + entries[i].name, grads[i].value});
  return compile(g, fetch, batch_plan_options());
}

std::unique_ptr<Seq2Seq::TrainEntry> Seq2Seq::make_train_entry(int64_t B, int64_t S, int64_t T) {
  auto e = std::make_unique<TrainEntry>();
  e->source_mask = Tensor(config_.dtype, {B, 1, S});
  e->target_lengths = Tensor(DType::I32, {B});
  ExecutorOptions options;
  options.transient_arena = transient_arena_.get();
  options.step_scratch = step_scratch_.get();
  for (const auto& entry : params_.entries())
    options.output_targets.push_back({"grad:" + entry.name, params_.grad(entry.name)});
  Plan plan = training_plan(B, S, T);
  // Output i is "grad:<entry>" for entry_of[i]; the loss maps to no entry.
  std::vector<size_t> entry_of(plan.output_names.size(), SIZE_MAX);
  for (size_t i = 0; i < params_.entries().size(); ++i)
    for (size_t o = 0; o < plan.output_names.size(); ++o)
      if (plan.output_names[o] == "grad:" + params_.entries()[i].name) entry_of[o] = i;
  options.on_output_ready = [this, entry_of](size_t output) {
    if (gradient_listener_ && entry_of[output] != SIZE_MAX) gradient_listener_(entry_of[output]);
  };
  e->exec = std::make_unique<Executor>(std::move(plan), params_, std::move(options));
  return e;
}

double Seq2Seq::train_step_gradients(const text::Batch& batch) {
  const std::string& key = shape_key(batch);
  const int64_t B = batch.source.shape()[0], S = batch.source.shape()[1], T = batch.target_input.shape()[1];
  const bool warm = train_plans_->contains(key);
  TrainEntry& e = warm ? train_plans_->get(key, {}) : train_plans_->get(key, [&] { return make_train_entry(B, S, T); });
  fill_mask_and_lengths(batch, e.source_mask, e.target_lengths);
  feed_batch(*e.exec, batch, e.source_mask, e.target_lengths);
  e.exec->set_run_index(dropout_step_++);
  e.exec->set_profiler(warm ? profiler_ : nullptr);
  e.exec->run();
  return scalar_of(e.exec->output("loss"));
}

std::unique_ptr<Seq2Seq::EvalEntry> Seq2Seq::make_eval_entry(int64_t B, int64_t S, int64_t T) {
  auto e = std::make_unique<EvalEntry>();
  e->source_mask = Tensor(config_.dtype, {B, 1, S});
  e->target_lengths = Tensor(DType::I32, {B});
  ExecutorOptions options;
  options.transient_arena = transient_arena_.get();
  options.step_scratch = step_scratch_.get();
  e->exec = std::make_unique<Executor>(evaluation_plan(B, S, T), params_, std::move(options));
  return e;
}

Plan Seq2Seq::evaluation_plan(int64_t B, int64_t S, int64_t T) const {
  Graph g;
  BatchInputs in = declare_batch_inputs(g, B, S, T, config_.dtype);
  DropoutSites no_dropout;
  Forward f = build_forward(in, parameter_source(g), no_dropout, 0.0);
  return compile(g, std::vector<NamedValue>{{"loss", f.loss.value}, {"logits", f.logits.value}},
                 batch_plan_options());
}

Seq2Seq::EvalEntry& Seq2Seq::eval_entry(const text::Batch& batch) {
  const std::string& key = shape_key(batch);
  const int64_t B = batch.source.shape()[0], S = batch.source.shape()[1], T = batch.target_input.shape()[1];
  EvalEntry& e = eval_plans_->contains(key) ? eval_plans_->get(key, {})
                                            : eval_plans_->get(key, [&] { return make_eval_entry(B, S, T); });
  fill_mask_and_lengths(batch, e.source_mask, e.target_lengths);
  feed_batch(*e.exec, batch, e.source_mask, e.target_lengths);
  e.exec->run();
  return e;
}

namespace {

// Index of the largest of n values (the first on ties).
template <class T>
int64_t argmax(const T* row, int64_t n) {
  int64_t best = 0;
  for (int64_t v = 1; v < n; ++v)
    if (row[v] > row[best]) best = v;
  return best;
}

}  // namespace

EvalResult Seq2Seq::evaluate_batch(const text::Batch& batch) {
  EvalEntry& e = eval_entry(batch);
  EvalResult r;
  for (int64_t b = 0; b < e.target_lengths.numel(); ++b) r.tokens += e.target_lengths.data<int32_t>()[b];
  r.loss_sum = scalar_of(e.exec->output("loss")) * double(r.tokens);
  TensorRef logits = e.exec->output("logits");  // (B·T, V)
  const int64_t rows = logits.shape()[0], V = logits.shape()[1];
  const int32_t* targets = batch.target_output.data<int32_t>();
  for (int64_t i = 0; i < rows; ++i) {
    if (targets[i] == text::Vocabulary::kPad) continue;
    int64_t best = logits.dtype() == DType::F64 ? argmax(logits.ptr<double>() + i * V, V)
                                                : argmax(logits.ptr<float>() + i * V, V);
    r.correct += best == targets[i];
  }
  return r;
}

Tensor Seq2Seq::logits(const text::Batch& batch) {
  EvalEntry& e = eval_entry(batch);
  const int64_t B = batch.target_input.shape()[0], T = batch.target_input.shape()[1];
  Tensor out(config_.dtype, {B, T, config_.tgt_vocab});
  std::memcpy(out.raw(), e.exec->output("logits").data, out.bytes());
  return out;
}

void Seq2Seq::set_compile_options(const CompileOptions& options) {
  compile_options_ = options;
  train_plans_->clear();
  eval_plans_->clear();
}

size_t Seq2Seq::cached_plans() const { return train_plans_->size() + eval_plans_->size(); }

}  // namespace loom::models
