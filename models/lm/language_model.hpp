// The LSTM language model (docs/MODEL.md, The language model) as a
// runtime::Model: embedding (V,E) -> dropout -> L LSTM layers, each followed
// by dropout -> linear over the vocabulary -> cross-entropy ignoring <pad>,
// the mean over the real target tokens. With tied weights the output layer's
// weight is embedding.weight itself (one parameter, whose gradient sums both
// uses). It owns its ParameterStore (docs/MODEL.md's names, so PyTorch loads
// them) and runs one compiled plan per batch shape (B,T) through a
// runtime::PlanRuntime. The graph-building pieces are public so that the
// generator (generator.hpp) and tests assemble other graphs from the same
// parameters.
// Dims: B batch, T sequence length, E embed, H hidden, L layers, V vocabulary.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/parameters.hpp"
#include "models/lm/config.hpp"
#include "models/lm/data.hpp"
#include "ops/lstm.hpp"
#include "runtime/dropout_sites.hpp"
#include "runtime/model.hpp"
#include "runtime/plan_runtime.hpp"
#include "text/vocabulary.hpp"

namespace loom::models::lm {

using runtime::DropoutSites;
using runtime::ParameterSource;

class LanguageModel : public runtime::Model {
 public:
  // Declares every parameter (zero-filled). Throws std::invalid_argument for
  // a bad config or a vocabulary whose size is not config.vocab.
  LanguageModel(LmConfig config, text::Vocabulary vocab);

  const LmConfig& lm_config() const { return config_; }
  const text::Vocabulary& vocab() const { return vocab_; }
  const ParameterStore& params() const { return params_; }

  // ---- runtime::Model ----
  std::string kind() const override { return kLmKind; }
  ParameterStore& params() override { return params_; }
  runtime::PlanRuntime& runtime() override { return runtime_; }
  // Uniform(-0.1, 0.1) for every parameter, in declaration order.
  void init_parameters(uint64_t seed) override;
  double train_step(const runtime::Batch& batch) override;
  runtime::Evaluation evaluate_batch(const runtime::Batch& batch) override;
  // Char models: bits per character (the mean loss / ln 2); word models add
  // nothing to the trainer's loss and perplexity.
  std::vector<runtime::Metric> metrics(const runtime::Evaluation& totals, const runtime::Dataset& data,
                                       bool thorough) override;
  std::vector<std::string> logged_metrics() const override;
  std::string shape_key(const runtime::Batch& batch) const override;
  Plan training_plan(const runtime::Batch& batch) const override;
  Plan evaluation_plan(const runtime::Batch& batch) const override;
  std::map<std::string, std::string> config() const override { return config_to_map(config_); }
  // "loom.vocab": the tokens in id order.
  std::map<std::string, std::string> metadata() const override;

  // Options of every plan compiled from now on (training, evaluation, generation).
  const CompileOptions& compile_options() const { return runtime_.compile_options(); }

  // Forward only, no dropout: logits (B,T,V).
  Tensor logits(const LmBatch& batch);

  // ---- graph-building blocks (shared with generation and tests) ----
  ParameterSource parameter_source(Graph& g) const { return runtime_.parameter_source(g); }
  struct LstmWeights {
    Var w_ih, w_hh, b_ih, b_hh;
  };
  LstmWeights lstm_weights(const ParameterSource& p, int64_t layer) const;
  // ids of any shape (i32) -> ids.shape + (E).
  Var embed(Var ids, const ParameterSource& p) const;
  // (..., H) -> (..., V): out.weight, or embedding.weight when tied, and out.bias.
  Var output_layer(Var features, const ParameterSource& p) const;
  struct Forward {
    Var logits;  // (B·T, V)
    Var loss;    // scalar: mean over non-pad targets
  };
  // input, target i32 (B,T); lengths i32 (B).
  Forward build_forward(Var input, Var target, Var lengths, const ParameterSource& p, DropoutSites& drop) const;

 private:
  Var training_loss(Graph& g, const ParameterSource& p, int64_t B, int64_t T) const;
  std::vector<NamedValue> evaluation_outputs(Graph& g, const ParameterSource& p, int64_t B, int64_t T) const;
  Executor& run_evaluation(const LmBatch& batch);

  LmConfig config_;
  text::Vocabulary vocab_;
  ParameterStore params_;
  runtime::PlanRuntime runtime_{params_};
};

}  // namespace loom::models::lm
