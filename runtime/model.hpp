// The model interface: what the trainer (train/), the checkpoint code and the
// commands (tools/) ask of any model, the translator, the language model or a
// user's own. A model owns its parameters (one ParameterStore) and a
// PlanRuntime that compiles, caches and runs its plans; it turns its own
// batches into loss graphs, evaluates them with its own metrics and says what
// goes into its checkpoint's metadata. Its data comes as a Dataset of
// examples that the trainer cuts into batches by index, so that batch order,
// resuming and data-parallel sharding stay the trainer's business.
#pragma once
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include "graph/parameters.hpp"
#include "graph/plan.hpp"
#include "runtime/plan_runtime.hpp"

namespace loom::runtime {

// One batch of a model's data. Each model has its own batch type derived
// from this one (padded id tensors, lengths, ...).
class Batch {
 public:
  virtual ~Batch() = default;
  virtual int64_t rows() const = 0;
  // The units the loss is averaged over (non-pad target tokens): in a
  // data-parallel step each rank's gradient weighs by its share of them.
  virtual int64_t loss_tokens() const = 0;
  // The batch as one JSON object on one line (`loom train --log-batches`);
  // "" where the model does not log batches.
  virtual std::string to_json() const { return ""; }
};

// A model's own batch type from a Batch, or std::invalid_argument naming both.
template <class T>
const T& batch_as(const Batch& batch) {
  if (const T* b = dynamic_cast<const T*>(&batch)) return *b;
  throw std::invalid_argument(std::string("a batch of type ") + typeid(batch).name() + " was given where " +
                              typeid(T).name() + " was expected (a dataset of another model?)");
}

// Examples of one model kind, read from a file, and batches of them.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t examples() const = 0;
  // The batches of one training epoch as example indices, a pure function
  // of the dataset's seed and the epoch (a resumed run replays it).
  virtual std::vector<std::vector<int64_t>> epoch_plan(uint64_t epoch) const = 0;
  // Every example once, in file order, in batches (evaluation).
  virtual std::vector<std::vector<int64_t>> evaluation_plan() const = 0;
  virtual std::unique_ptr<Batch> make_batch(std::span<const int64_t> examples) const = 0;
  // "1204 lines of data/kjv/train.txt": for logs and cross-rank checks.
  virtual std::string describe() const = 0;
};

// Sums over evaluated batches (and over ranks): the loss and any counts a
// model's metrics need.
struct Evaluation {
  double loss_sum = 0;  // Σ of -log p(target) over the loss tokens
  int64_t tokens = 0;
  std::map<std::string, double> counts;  // e.g. "correct" tokens; summed like the loss
  double loss() const { return tokens ? loss_sum / double(tokens) : 0.0; }
  Evaluation& operator+=(const Evaluation& o);
};

// A named figure of a validation or evaluation: "accuracy", "bleu", "bpc".
struct Metric {
  std::string name;
  double value = 0;
  std::string text;  // as printed: "accuracy 93.1%", "BLEU 41.2"
};

// exp(mean cross-entropy in nats per token); +inf when that overflows.
inline double perplexity(double mean_loss) { return std::exp(mean_loss); }

class Model {
 public:
  virtual ~Model() = default;
  // The name the model is registered under; saved as "loom.model".
  virtual std::string kind() const = 0;
  virtual ParameterStore& params() = 0;
  virtual PlanRuntime& runtime() = 0;
  // Initial values of every parameter, a function of the seed alone.
  virtual void init_parameters(uint64_t seed) = 0;

  // Forward and backward on one batch (dropout on): every parameter's
  // gradient lands in params().grad(name); returns the mean loss.
  virtual double train_step(const Batch& batch) = 0;
  // Forward only, no dropout: loss sum, tokens and the model's counts.
  virtual Evaluation evaluate_batch(const Batch& batch) = 0;
  // The figures of a whole evaluation, in print order. With `thorough` the
  // model may also decode or generate from `data` (BLEU); the trainer asks
  // for that on rank 0 only.
  virtual std::vector<Metric> metrics(const Evaluation& totals, const Dataset& data, bool thorough) = 0;
  // The names of Evaluation::counts this model fills (every rank sums them,
  // including a rank that evaluated no batch).
  virtual std::vector<std::string> evaluation_counts() const { return {}; }
  // The metrics (by name) that get a column of metrics.csv ("valid_<name>");
  // the trainer's own columns hold the loss and the perplexity.
  virtual std::vector<std::string> logged_metrics() const { return {}; }

  // The plans a batch of this shape compiles (memory estimate, explain).
  virtual std::string shape_key(const Batch& batch) const = 0;
  virtual Plan training_plan(const Batch& batch) const = 0;
  virtual Plan evaluation_plan(const Batch& batch) const = 0;

  // Hyper-parameters as text, saved as "loom.config". A resumed run refuses
  // a command-line option that contradicts one of them.
  virtual std::map<std::string, std::string> config() const = 0;
  // Other metadata keys saved beside the weights (vocabularies, ...).
  virtual std::map<std::string, std::string> metadata() const = 0;
};

// The sums of the evaluation batches first, first + stride, ... of `data`
// (all of them, or one rank's share), with every count the model names
// present even when no batch fell to this share.
Evaluation evaluate_dataset(Model& model, const Dataset& data, size_t first = 0, size_t stride = 1);

}  // namespace loom::runtime
