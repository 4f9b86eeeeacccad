// A user's own model, written outside Loom's core: "gru-lm", a GRU language
// model whose cell is composed from primitive ops (matmul, sigmoid, tanh, mul,
// add, sub; no fused GRU op). It reuses the language model's text data
// (models/lm/data.hpp: LmData, LmBatch, build_vocabulary) as a user would
// reuse the library's data pipeline, implements runtime::Model and registers
// a runtime::ModelFamily by one explicit call (register_gru_language_model(),
// examples/register_examples.cpp), so `loom train --model gru-lm` trains it
// with every trainer feature and `loom eval` evaluates its checkpoints.
//
//   embedding (V,E) -> dropout -> one GRU layer (hidden H) -> dropout
//   -> linear over V -> cross-entropy ignoring <pad> (mean over real targets)
//
// Parameters follow PyTorch's nn.GRU (gates in rows [r; z; n]), so PyTorch
// loads a checkpoint with strict=True (tests/python/loom_torch.py, GruLm):
//   embedding.weight (V,E)   gru.weight_ih_l0 (3H,E)  gru.weight_hh_l0 (3H,H)
//   gru.bias_ih_l0 (3H)      gru.bias_hh_l0 (3H)      out.weight (V,H)  out.bias (V)
// Not part of Loom's contract (docs/MODEL.md): an example of how to add a model.
// Its tests: tests/examples/test_gru_language_model.cpp and
// tests/examples/test_gru_language_model_torch_parity.cpp.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "graph/parameters.hpp"
#include "models/lm/config.hpp"
#include "models/lm/data.hpp"
#include "runtime/dropout_sites.hpp"
#include "runtime/model.hpp"
#include "runtime/model_family.hpp"
#include "runtime/plan_runtime.hpp"
#include "text/vocabulary.hpp"

namespace loom::examples {

inline constexpr const char* kGruKind = "gru-lm";

struct GruConfig {
  int64_t vocab = 0;      // V, the four reserved ids included
  int64_t embed = 64;     // E
  int64_t hidden = 128;   // H
  double dropout = 0.1;   // on the embeddings and the GRU's outputs, training graphs only
  models::lm::Unit unit = models::lm::Unit::Word;
  DType dtype = DType::F32;  // F64 for the gradient checks and the PyTorch parity test
  uint64_t seed = 1;         // dropout masks derive from it
};

// Every parameter in declaration order (the names above). Throws
// std::invalid_argument for a config out of range.
std::vector<std::pair<std::string, Shape>> gru_parameter_shapes(const GruConfig& config);

// The config of a gru-lm checkpoint: loom.config read and checked against the
// shapes of the file's tensors before anything is allocated. Throws
// CheckpointError naming the file (and the key and tensor at fault).
GruConfig gru_config_from_checkpoint(const std::string& path, const io::CheckpointInfo& info);

class GruLanguageModel : public runtime::Model {
 public:
  // Declares every parameter (zero-filled); throws std::invalid_argument for
  // a bad config or a vocabulary whose size is not config.vocab.
  GruLanguageModel(GruConfig config, text::Vocabulary vocab);

  const GruConfig& gru_config() const { return config_; }
  const text::Vocabulary& vocab() const { return vocab_; }

  // ---- runtime::Model ----
  std::string kind() const override { return kGruKind; }
  ParameterStore& params() override { return params_; }
  runtime::PlanRuntime& runtime() override { return runtime_; }
  void init_parameters(uint64_t seed) override;  // Uniform(-0.1, 0.1), declaration order
  double train_step(const runtime::Batch& batch) override;
  runtime::Evaluation evaluate_batch(const runtime::Batch& batch) override;
  // Char models: bits per character; word models: nothing beyond the loss.
  std::vector<runtime::Metric> metrics(const runtime::Evaluation& totals, const runtime::Dataset& data,
                                       bool thorough) override;
  std::vector<std::string> logged_metrics() const override;
  std::string shape_key(const runtime::Batch& batch) const override;
  Plan training_plan(const runtime::Batch& batch) const override;
  Plan evaluation_plan(const runtime::Batch& batch) const override;
  // loom.config: vocab, embed, hidden, dropout, unit, seed.
  std::map<std::string, std::string> config() const override;
  // "loom.vocab": the tokens in id order.
  std::map<std::string, std::string> metadata() const override;

  // The GRU over a whole batch: x (B,T,E) -> every step's hidden state (B,T,H).
  Var gru(Var x, const runtime::ParameterSource& p) const;

 private:
  Var loss(Graph& g, const runtime::ParameterSource& p, int64_t B, int64_t T, runtime::DropoutSites& drop) const;

  GruConfig config_;
  text::Vocabulary vocab_;
  ParameterStore params_;
  runtime::PlanRuntime runtime_{params_};
};

}  // namespace loom::examples
