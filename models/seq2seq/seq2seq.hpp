// The flagship model (docs/MODEL.md): embeddings -> L-layer LSTM
// encoder -> L-layer LSTM decoder started from the encoder's final states ->
// a pluggable attention layer -> linear output over [d_t ; c_t] -> masked
// cross-entropy. Seq2Seq owns the ParameterStore (names and shapes exactly as
// docs/MODEL.md fixes them) and runs its batch graphs through a
// runtime::PlanRuntime (one compiled plan per batch shape (B,S,T), shared
// arenas, gradients into the store); a warm training step allocates nothing. The graph-building pieces are public so
// decoding (models/decode.*) and tests assemble other graphs from the same
// parameters.
// Dims: B batch, S source length, T target length, E embed, H hidden,
// L layers, Vs/Vt vocabularies.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "graph/parameters.hpp"
#include "graph/plan.hpp"
#include "graph/profiler.hpp"
#include "models/seq2seq/attention.hpp"
#include "models/seq2seq/batcher.hpp"
#include "ops/lstm.hpp"
#include "runtime/dropout_sites.hpp"
#include "runtime/plan_runtime.hpp"

namespace loom::models::seq2seq {

struct Seq2SeqConfig {
  int64_t src_vocab = 0, tgt_vocab = 0;  // Vs, Vt (the four reserved ids included)
  int64_t embed = 128;                   // E
  int64_t hidden = 256;                  // H
  int64_t layers = 1;                    // L
  std::string attention = "dot";         // a registered attention layer
  double dropout = 0.0;                  // on embeddings and LSTM outputs, training graphs only
  double label_smoothing = 0.0;          // training loss only; evaluation reports plain NLL
  DType dtype = DType::F32;              // F64 for gradient checks
  // Matrix products of training and evaluation plans (graph/precision.hpp);
  // a run option, not saved in checkpoints.
  MatmulPrecision matmul_precision = MatmulPrecision::F32;
  uint64_t seed = 1;                     // dropout masks derive from it
};

// Graph inputs of one padded batch. Names: "source", "source_lengths",
// "source_mask", "target_input", "target_output", "target_lengths".
struct BatchInputs {
  Var source;          // i32 (B,S)
  Var source_lengths;  // i32 (B)
  Var source_mask;     // float (B,1,S): 1 = real token, 0 = padding
  Var target_input;    // i32 (B,T): <bos> y1..ym <pad>..
  Var target_output;   // i32 (B,T): y1..ym <eos> <pad>..
  Var target_lengths;  // i32 (B): non-pad entries of target_output
};
BatchInputs declare_batch_inputs(Graph& g, int64_t B, int64_t S, int64_t T, DType dtype);

// The host-computed inputs: mask (B,1,S) from source_lengths and
// target_lengths (B) from target_output. Writes into tensors of the right
// type (no allocation).
void fill_mask_and_lengths(const seq2seq::Batch& batch, Tensor& source_mask, Tensor& target_lengths);
// Every input of declare_batch_inputs, by name (tests, gradient checks).
std::vector<std::pair<std::string, Tensor>> batch_feeds(const seq2seq::Batch& batch, DType dtype);

using runtime::DropoutSites;

struct EvalResult {
  double loss_sum = 0;  // Σ of -log p(target) over non-pad target tokens
  int64_t tokens = 0;   // non-pad target tokens
  int64_t correct = 0;  // tokens whose argmax logit is the target
  double loss() const { return tokens ? loss_sum / double(tokens) : 0.0; }
  double accuracy() const { return tokens ? double(correct) / double(tokens) : 0.0; }
  EvalResult& operator+=(const EvalResult& o);
};

// The parameters a Seq2Seq with this config declares (docs/MODEL.md names and
// shapes, in declaration order), worked out without allocating any, so a
// checkpoint's config can be checked against its file first. Throws
// std::invalid_argument as the constructor does.
std::vector<std::pair<std::string, Shape>> seq2seq_parameter_shapes(const Seq2SeqConfig& config);

class Seq2Seq {
 public:
  // Declares every parameter (zero-filled); throws std::invalid_argument for
  // a bad config or an unknown attention name.
  explicit Seq2Seq(Seq2SeqConfig config);
  ~Seq2Seq();
  Seq2Seq(const Seq2Seq&) = delete;
  Seq2Seq& operator=(const Seq2Seq&) = delete;

  const Seq2SeqConfig& config() const { return config_; }
  const Attention& attention() const { return *attention_; }
  bool has_context() const { return has_context_; }
  ParameterStore& params() { return params_; }
  const ParameterStore& params() const { return params_; }
  runtime::PlanRuntime& runtime() { return runtime_; }
  // Plans compiled from now on use p (a resumed run's choice).
  void set_matmul_precision(MatmulPrecision p) {
    config_.matmul_precision = p;
    runtime_.set_matmul_precision(p);
  }

  // Uniform(-0.1, 0.1) for every parameter, in declaration order.
  void init_parameters(uint64_t seed);

  // Forward + backward on one batch (dropout on, label smoothing on); writes
  // every parameter's gradient into params().grad(name) and returns the mean
  // loss over non-pad target tokens.
  double train_step_gradients(const seq2seq::Batch& batch);
  // Dropout masks of the next training steps are keyed on this step number
  // (a trainer passes its global step, so resuming replays the same masks).
  void set_dropout_step(uint64_t step) { runtime_.set_run_index(step); }
  // While set, times the steps of training plans that have run before (a
  // plan's first run pays oneDNN's JIT and first-touch, not step cost).
  void set_profiler(StepProfiler* profiler) { runtime_.set_profiler(profiler); }
  // While set, train_step_gradients calls it with the index in
  // params().entries() of each parameter as soon as that gradient is final,
  // while backward goes on (data-parallel training sends it to other ranks).
  void set_gradient_listener(std::function<void(size_t entry)> listener) {
    runtime_.set_gradient_listener(std::move(listener));
  }
  // Forward only, no dropout, no label smoothing.
  EvalResult evaluate_batch(const seq2seq::Batch& batch);
  // Forward only: logits (B,T,Vt) with teacher forcing, no dropout.
  Tensor logits(const seq2seq::Batch& batch);
  // Options of every plan the model compiles from now on (training,
  // evaluation, decoding): deterministic plans give the same bits on any
  // number of threads. Drops the plans compiled so far.
  void set_compile_options(const CompileOptions& options) { runtime_.set_compile_options(options); }
  const CompileOptions& compile_options() const { return runtime_.compile_options(); }
  // Compiled plans held (training and evaluation).
  size_t cached_plans() const { return runtime_.cached_plans(); }
  // The plan of a training step for batch shape (B,S,T), as
  // train_step_gradients compiles it: fetches "loss" and "grad:<name>" for
  // every parameter (`loom explain --model seq2seq`).
  Plan training_plan(int64_t B, int64_t S, int64_t T) const;
  // The plan evaluate_batch and logits compile for (B,S,T): fetches "loss" and "logits".
  Plan evaluation_plan(int64_t B, int64_t S, int64_t T) const;

  // ---- graph-building blocks (shared with decoding and tests) ----
  // Parameter nodes of g for this model's store (one node per name per graph).
  ParameterSource parameter_source(Graph& g) const { return runtime_.parameter_source(g); }
  struct Encoded {
    Var outputs;                          // (B,S,H) top layer, zero at padding
    std::vector<ops::LstmState> states;   // per layer, after each row's last real token
  };
  struct LstmWeights {
    Var w_ih, w_hh, b_ih, b_hh;
  };
  // side: "encoder" or "decoder".
  LstmWeights lstm_weights(const ParameterSource& p, const std::string& side, int64_t layer) const;
  // ids (B,N) i32 -> (B,N,E); side: "src" or "tgt".
  Var embed(Var ids, const std::string& side, const ParameterSource& p) const;
  Encoded build_encoder(Var source, Var lengths, const ParameterSource& p, DropoutSites& drop) const;
  // Teacher-forced decoder: (B,T,H) outputs of the top layer.
  Var build_decoder(Var target_input, Var target_lengths, const std::vector<ops::LstmState>& initial,
                    const ParameterSource& p, DropoutSites& drop) const;
  AttentionOutput build_attention(Var decoder, Var encoder, Var mask, const ParameterSource& p) const;
  // z = out.weight · [d ; c] + out.bias: (B,T,H) -> (B,T,Vt).
  Var build_logits(Var decoder, const AttentionOutput& attention, const ParameterSource& p) const;

  struct Forward {
    Var logits;   // (B·T, Vt)
    Var loss;     // scalar: mean over non-pad target tokens
    AttentionOutput attention;
  };
  Forward build_forward(const BatchInputs& in, const ParameterSource& p, DropoutSites& drop,
                        double label_smoothing) const;

 private:
  // The graphs of one batch shape, for the runtime to compile.
  Var training_loss(Graph& g, const ParameterSource& p, int64_t B, int64_t S, int64_t T) const;
  std::vector<NamedValue> evaluation_outputs(Graph& g, const ParameterSource& p, int64_t B, int64_t S,
                                             int64_t T) const;
  Executor& run_evaluation(const seq2seq::Batch& batch);
  const std::string& shape_key(const seq2seq::Batch& batch);

  Seq2SeqConfig config_;
  std::unique_ptr<Attention> attention_;
  bool has_context_ = true;
  ParameterStore params_;
  runtime::PlanRuntime runtime_{params_};
  // Host-computed inputs of the batch being run (mask, target lengths),
  // resized only when the shape changes.
  Tensor source_mask_, target_lengths_;
  std::string key_;  // reused, so a warm step builds no new string
};

}  // namespace loom::models::seq2seq
