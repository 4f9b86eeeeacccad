// The encoder-decoder's graphs and its per-shape plans. A training entry
// fetches the loss and one gradient per parameter, each delivered into the
// ParameterStore's grad buffer by the executor (ExecutorOptions::
// output_targets), which also deals with gradients that are one value (the
// LSTM's b_ih and b_hh).
#include "models/seq2seq/seq2seq.hpp"

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

namespace loom::models::seq2seq {

// ---- batch inputs -----------------------------------------------------------------------------

BatchInputs declare_batch_inputs(Graph& g, int64_t B, int64_t S, int64_t T, DType dtype) {
  return {input(g, "source", {DType::I32, {B, S}}),        input(g, "source_lengths", {DType::I32, {B}}),
          input(g, "source_mask", {dtype, {B, 1, S}}),      input(g, "target_input", {DType::I32, {B, T}}),
          input(g, "target_output", {DType::I32, {B, T}}), input(g, "target_lengths", {DType::I32, {B}})};
}

void fill_mask_and_lengths(const seq2seq::Batch& batch, Tensor& source_mask, Tensor& target_lengths) {
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

std::vector<std::pair<std::string, Tensor>> batch_feeds(const seq2seq::Batch& batch, DType dtype) {
  const int64_t B = batch.source.shape()[0], S = batch.source.shape()[1];
  Tensor mask(dtype, {B, 1, S}), lengths(DType::I32, {B});
  fill_mask_and_lengths(batch, mask, lengths);
  return {{"source", batch.source},           {"source_lengths", batch.source_lengths},
          {"source_mask", mask},              {"target_input", batch.target_input},
          {"target_output", batch.target_output}, {"target_lengths", lengths}};
}

// ---- results ------------------------------------------------------------------------------------

EvalResult& EvalResult::operator+=(const EvalResult& o) {
  loss_sum += o.loss_sum;
  tokens += o.tokens;
  correct += o.correct;
  return *this;
}

// ---- construction -----------------------------------------------------------------------------

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

Seq2Seq::Seq2Seq(Seq2SeqConfig config) : config_(std::move(config)), params_(config_.dtype) {
  check_config(config_);
  runtime_.set_matmul_precision(config_.matmul_precision);
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

void append_dim(std::string& key, char name, int64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  if (!key.empty()) key += ',';
  key += name;
  key += '=';
  key.append(digits, end);
}

int64_t rows_of(const seq2seq::Batch& b) { return b.source.shape()[0]; }
int64_t source_length(const seq2seq::Batch& b) { return b.source.shape()[1]; }
int64_t target_length(const seq2seq::Batch& b) { return b.target_input.shape()[1]; }

}  // namespace

// "B=32,S=20,T=18" (the convention of shape_signature), written into a reused
// string so a warm step does not allocate. Also sizes the host-computed inputs.
const std::string& Seq2Seq::shape_key(const seq2seq::Batch& batch) {
  if (batch.source.shape().rank() != 2 || batch.target_input.shape().rank() != 2 ||
      !(batch.target_input.shape() == batch.target_output.shape()) ||
      batch.source_lengths.shape().numel() != batch.source.shape()[0] ||
      batch.target_input.shape()[0] != batch.source.shape()[0])
    throw ShapeError("Seq2Seq: inconsistent batch: source " + batch.source.shape().str() + ", source_lengths " +
                     batch.source_lengths.shape().str() + ", target_input " + batch.target_input.shape().str() +
                     ", target_output " + batch.target_output.shape().str());
  key_.clear();
  append_dim(key_, 'B', rows_of(batch));
  append_dim(key_, 'S', source_length(batch));
  append_dim(key_, 'T', target_length(batch));
  const Shape mask_shape{rows_of(batch), 1, source_length(batch)};
  if (!(source_mask_.shape() == mask_shape) || source_mask_.dtype() != config_.dtype)
    source_mask_ = Tensor(config_.dtype, mask_shape);
  if (!(target_lengths_.shape() == Shape{rows_of(batch)}) || target_lengths_.dtype() != DType::I32)
    target_lengths_ = Tensor(DType::I32, {rows_of(batch)});
  fill_mask_and_lengths(batch, source_mask_, target_lengths_);
  return key_;
}

Var Seq2Seq::training_loss(Graph& g, const ParameterSource& p, int64_t B, int64_t S, int64_t T) const {
  BatchInputs in = declare_batch_inputs(g, B, S, T, config_.dtype);
  const uint64_t shape_bits = uint64_t(B) << 40 ^ uint64_t(S) << 20 ^ uint64_t(T);
  DropoutSites drop(config_.dropout, runtime::shape_dropout_seed(config_.seed, shape_bits));
  return build_forward(in, p, drop, config_.label_smoothing).loss;
}

std::vector<NamedValue> Seq2Seq::evaluation_outputs(Graph& g, const ParameterSource& p, int64_t B, int64_t S,
                                                    int64_t T) const {
  BatchInputs in = declare_batch_inputs(g, B, S, T, config_.dtype);
  DropoutSites no_dropout;
  Forward f = build_forward(in, p, no_dropout, 0.0);
  return {{"loss", f.loss.value}, {"logits", f.logits.value}};
}

Plan Seq2Seq::training_plan(int64_t B, int64_t S, int64_t T) const {
  return runtime_.training_plan([&](Graph& g, const ParameterSource& p) { return training_loss(g, p, B, S, T); });
}

Plan Seq2Seq::evaluation_plan(int64_t B, int64_t S, int64_t T) const {
  return runtime_.evaluation_plan(
      [&](Graph& g, const ParameterSource& p) { return evaluation_outputs(g, p, B, S, T); });
}

namespace {

void feed_batch(Executor& exec, const seq2seq::Batch& batch, const Tensor& mask, const Tensor& target_lengths) {
  exec.set_input("source", batch.source);
  exec.set_input("source_lengths", batch.source_lengths);
  exec.set_input("source_mask", mask);
  exec.set_input("target_input", batch.target_input);
  exec.set_input("target_output", batch.target_output);
  exec.set_input("target_lengths", target_lengths);
}

}  // namespace

double Seq2Seq::train_step_gradients(const seq2seq::Batch& batch) {
  const std::string& key = shape_key(batch);
  const int64_t B = rows_of(batch), S = source_length(batch), T = target_length(batch);
  return runtime_.train(
      key, [&](Graph& g, const ParameterSource& p) { return training_loss(g, p, B, S, T); },
      [&](Executor& exec) { feed_batch(exec, batch, source_mask_, target_lengths_); });
}

Executor& Seq2Seq::run_evaluation(const seq2seq::Batch& batch) {
  const std::string& key = shape_key(batch);
  const int64_t B = rows_of(batch), S = source_length(batch), T = target_length(batch);
  return runtime_.evaluate(
      key, [&](Graph& g, const ParameterSource& p) { return evaluation_outputs(g, p, B, S, T); },
      [&](Executor& exec) { feed_batch(exec, batch, source_mask_, target_lengths_); });
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

EvalResult Seq2Seq::evaluate_batch(const seq2seq::Batch& batch) {
  Executor& exec = run_evaluation(batch);
  EvalResult r;
  for (int64_t b = 0; b < target_lengths_.numel(); ++b) r.tokens += target_lengths_.data<int32_t>()[b];
  r.loss_sum = runtime::scalar_output(exec, "loss") * double(r.tokens);
  TensorRef logits = exec.output("logits");  // (B·T, V)
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

Tensor Seq2Seq::logits(const seq2seq::Batch& batch) {
  Executor& exec = run_evaluation(batch);
  const int64_t B = batch.target_input.shape()[0], T = batch.target_input.shape()[1];
  Tensor out(config_.dtype, {B, T, config_.tgt_vocab});
  std::memcpy(out.raw(), exec.output("logits").data, out.bytes());
  return out;
}

}  // namespace loom::models::seq2seq
