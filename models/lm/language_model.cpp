// The language model's graphs, its per-shape plans and its figures
// (language_model.hpp). A training plan fetches the loss and every
// parameter's gradient, which the runtime delivers into the store; with tied
// weights embedding.weight is one parameter node read by the embedding and
// by the output layer, so autograd sums its two gradients.
#include "models/lm/language_model.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>

#include "graph/errors.hpp"
#include "io/checkpoint.hpp"
#include "ops/ops.hpp"

namespace loom::models::lm {

using text::Vocabulary;

LanguageModel::LanguageModel(LmConfig config, text::Vocabulary vocab)
    : config_(std::move(config)), vocab_(std::move(vocab)), params_(config_.dtype) {
  const auto shapes = lm_parameter_shapes(config_);  // checks the config
  if (vocab_.size() != config_.vocab)
    throw std::invalid_argument("LanguageModel: the vocabulary has " + std::to_string(vocab_.size()) +
                                " tokens but the config says vocab=" + std::to_string(config_.vocab));
  runtime_.set_matmul_precision(config_.matmul_precision);
  for (const auto& [name, shape] : shapes) params_.declare(name, shape);
}

void LanguageModel::init_parameters(uint64_t seed) {
  std::mt19937_64 rng(seed);
  params_.fill_uniform(rng, 0.1);
  params_.zero_grads();
}

std::map<std::string, std::string> LanguageModel::metadata() const {
  return {{kVocabKey, io::token_list_json(io::vocabulary_tokens(vocab_))}};
}

// ---- graph building ---------------------------------------------------------------------------

LanguageModel::LstmWeights LanguageModel::lstm_weights(const ParameterSource& p, int64_t layer) const {
  const int64_t H = config_.hidden, G = 4 * H, in = layer == 0 ? config_.embed : H;
  const std::string l = std::to_string(layer);
  return {p("lstm.weight_ih_l" + l, {G, in}), p("lstm.weight_hh_l" + l, {G, H}), p("lstm.bias_ih_l" + l, {G}),
          p("lstm.bias_hh_l" + l, {G})};
}

Var LanguageModel::embed(Var ids, const ParameterSource& p) const {
  return ops::embedding(p("embedding.weight", {config_.vocab, config_.embed}), ids);
}

Var LanguageModel::output_layer(Var features, const ParameterSource& p) const {
  const int64_t V = config_.vocab, H = config_.hidden;
  // Tied: the (V,E) table is the (V,H) weight, E == H (check_config).
  Var w = config_.tie_weights ? p("embedding.weight", {V, config_.embed}) : p("out.weight", {V, H});
  return ops::linear(features, w, p("out.bias", {V}));
}

LanguageModel::Forward LanguageModel::build_forward(Var input, Var target, Var lengths, const ParameterSource& p,
                                                    DropoutSites& drop) const {
  Graph& g = *input.graph;
  const int64_t B = input.dim(0), T = input.dim(1), H = config_.hidden, V = config_.vocab;
  Var zeros = ops::fill(g, {config_.dtype, {B, H}}, 0.0);
  Var x = drop.apply(embed(input, p));  // (B,T,E)
  for (int64_t k = 0; k < config_.layers; ++k) {
    const LstmWeights w = lstm_weights(p, k);
    x = drop.apply(ops::lstm_sequence(x, lengths, {zeros, zeros}, w.w_ih, w.w_hh, w.b_ih, w.b_hh).output);  // (B,T,H)
  }
  Var logits = named(ops::reshape(output_layer(x, p), {B * T, V}), "logits");  // (B·T,V)
  Var loss = named(ops::cross_entropy(logits, ops::reshape(target, {B * T}), Vocabulary::kPad), "loss");
  return {logits, loss};
}

// ---- plans per batch shape -------------------------------------------------------------------

namespace {

struct BatchInputs {
  Var input, target, lengths;
};

BatchInputs declare_inputs(Graph& g, int64_t B, int64_t T) {
  return {input(g, "input", {DType::I32, {B, T}}), input(g, "target", {DType::I32, {B, T}}),
          input(g, "lengths", {DType::I32, {B}})};
}

void feed(Executor& exec, const LmBatch& batch) {
  exec.set_input("input", batch.input);
  exec.set_input("target", batch.target);
  exec.set_input("lengths", batch.lengths);
}

const LmBatch& checked(const runtime::Batch& any) {
  const LmBatch& b = runtime::batch_as<LmBatch>(any);
  if (b.input.shape().rank() != 2 || !(b.input.shape() == b.target.shape()) ||
      b.lengths.shape().numel() != b.input.shape()[0])
    throw ShapeError("LanguageModel: inconsistent batch: input " + b.input.shape().str() + ", target " +
                     b.target.shape().str() + ", lengths " + b.lengths.shape().str());
  return b;
}

}  // namespace

Var LanguageModel::training_loss(Graph& g, const ParameterSource& p, int64_t B, int64_t T) const {
  const BatchInputs in = declare_inputs(g, B, T);
  DropoutSites drop(config_.dropout, runtime::shape_dropout_seed(config_.seed, uint64_t(B) << 32 ^ uint64_t(T)));
  return build_forward(in.input, in.target, in.lengths, p, drop).loss;
}

std::vector<NamedValue> LanguageModel::evaluation_outputs(Graph& g, const ParameterSource& p, int64_t B,
                                                          int64_t T) const {
  const BatchInputs in = declare_inputs(g, B, T);
  DropoutSites no_dropout;
  const Forward f = build_forward(in.input, in.target, in.lengths, p, no_dropout);
  return {{"loss", f.loss.value}, {"logits", f.logits.value}};
}

std::string LanguageModel::shape_key(const runtime::Batch& batch) const {
  const LmBatch& b = checked(batch);
  return shape_signature({{"B", b.rows()}, {"T", b.length()}});
}

Plan LanguageModel::training_plan(const runtime::Batch& batch) const {
  const LmBatch& b = checked(batch);
  return runtime_.training_plan(
      [&](Graph& g, const ParameterSource& p) { return training_loss(g, p, b.rows(), b.length()); });
}

Plan LanguageModel::evaluation_plan(const runtime::Batch& batch) const {
  const LmBatch& b = checked(batch);
  return runtime_.evaluation_plan(
      [&](Graph& g, const ParameterSource& p) { return evaluation_outputs(g, p, b.rows(), b.length()); });
}

double LanguageModel::train_step(const runtime::Batch& batch) {
  const LmBatch& b = checked(batch);
  const int64_t B = b.rows(), T = b.length();
  return runtime_.train(
      shape_key(b), [&](Graph& g, const ParameterSource& p) { return training_loss(g, p, B, T); },
      [&](Executor& exec) { feed(exec, b); });
}

Executor& LanguageModel::run_evaluation(const LmBatch& b) {
  const int64_t B = b.rows(), T = b.length();
  return runtime_.evaluate(
      shape_key(b), [&](Graph& g, const ParameterSource& p) { return evaluation_outputs(g, p, B, T); },
      [&](Executor& exec) { feed(exec, b); });
}

runtime::Evaluation LanguageModel::evaluate_batch(const runtime::Batch& batch) {
  const LmBatch& b = checked(batch);
  Executor& exec = run_evaluation(b);
  return {runtime::scalar_output(exec, "loss") * double(b.tokens), b.tokens, {}};
}

Tensor LanguageModel::logits(const LmBatch& batch) {
  Executor& exec = run_evaluation(checked(batch));
  Tensor out(config_.dtype, {batch.rows(), batch.length(), config_.vocab});
  std::memcpy(out.raw(), exec.output("logits").data, out.bytes());
  return out;
}

// ---- figures ----------------------------------------------------------------------------------

std::vector<runtime::Metric> LanguageModel::metrics(const runtime::Evaluation& totals, const runtime::Dataset&,
                                                    bool) {
  return lm::text_metrics(totals, config_.unit);
}

std::vector<std::string> LanguageModel::logged_metrics() const { return lm::logged_text_metrics(config_.unit); }

}  // namespace loom::models::lm
