// How much memory a training run will need, worked out before it starts, and
// the check against what the machine has (or --max-memory). A model keeps one
// compiled plan per batch shape it meets; its plans share one transient arena
// and one step scratch (each as large as the largest plan's), and each keeps
// its own input and constant arenas. The shapes are known in advance (the
// batcher is deterministic), and each plan's figures are the planner's own
// (`loom explain` prints them for one shape).
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "graph/plan.hpp"
#include "models/seq2seq.hpp"
#include "optim/optimizer.hpp"
#include "text/corpus.hpp"
#include "train/trainer.hpp"

namespace loom::models {

struct BatchShape {
  int64_t batch = 0, source_length = 0, target_length = 0;  // B, S, T
  auto operator<=>(const BatchShape&) const = default;
};

// What one compiled plan needs while it is cached.
struct PlanMemory {
  uint64_t transient = 0;  // its transient arena (shared between the model's plans)
  uint64_t scratch = 0;    // its largest step scratch (shared likewise)
  uint64_t own = 0;        // its input and constant arenas (its own)
};

struct MemoryEstimate {
  uint64_t process = 0;  // resident before the model: code, libraries, oneDNN, the data
  uint64_t parameters = 0, gradients = 0, optimizer_state = 0;  // exact
  uint64_t transient = 0, scratch = 0;  // the largest of every plan the run will compile
  uint64_t plan_inputs = 0;             // their own arenas, summed
  int64_t plans = 0;                    // training and evaluation shapes
  BatchShape largest;                   // the training shape with the largest transient arena
  uint64_t total() const {
    return process + parameters + gradients + optimizer_state + transient + scratch + plan_inputs;
  }
  // "1.2 GB (process 40.0 MB, parameters 10.0 MB, ..., 21 plans: transient arena ...)"
  std::string describe() const;
};

// The exact terms (parameters, gradients, optimizer state) of a model and an
// optimiser; allocates nothing of the model's size. Throws
// std::invalid_argument for a bad config.
MemoryEstimate estimate_parameter_memory(const Seq2SeqConfig& model, const optim::OptimizerConfig& optimizer);

// The planner's figures for one plan; the step scratch is the LSTM
// backward's (ops/lstm_kernels.hpp), the one op that asks for any.
PlanMemory plan_memory(const Plan& plan);

// The distinct (B, S, T) of the batches a run with these options serves: the
// training batches of its first kShapeEpochs epochs (fresh pairings of
// targets may still bring new shapes after them) up to --max-steps, and the
// validation batches.
inline constexpr int64_t kShapeEpochs = 10;
std::vector<BatchShape> training_shapes(const TrainOptions& options, uint64_t seed,
                                        const text::TokenizedCorpus& corpus);
std::vector<BatchShape> validation_shapes(const TrainOptions& options, const text::TokenizedCorpus& corpus);

// Adds the plans of these shapes to `estimate`, compiling each for a model
// built from `model` (its parameters are allocated while this runs).
void add_plan_memory(MemoryEstimate& estimate, const Seq2SeqConfig& model, const std::vector<BatchShape>& training,
                     const std::vector<BatchShape>& validation);

// MemAvailable from /proc/meminfo; nullopt where it cannot be read.
std::optional<uint64_t> available_memory_bytes();

// The estimate exceeds the limit; the message gives both numbers.
struct InsufficientMemory : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws InsufficientMemory when the estimate exceeds max_memory (0: no
// limit) or the available memory (when known).
void check_memory(const MemoryEstimate& estimate, uint64_t max_memory, std::optional<uint64_t> available);

// The check before a run allocates its model: first the exact terms with
// the process as it is (so a model far too big is refused without
// allocating it), then with every plan the run will compile. Returns the
// estimate; throws InsufficientMemory against options.max_memory and
// MemAvailable.
MemoryEstimate check_training_memory(const Seq2SeqConfig& model, const TrainOptions& options,
                                     const text::TokenizedCorpus& train, const text::TokenizedCorpus& valid);

// Resident bytes of this process now (/proc/self/statm); 0 where unknown.
uint64_t resident_memory_bytes();

// "2G", "512M", "64K", "1000" (bytes); K, M, G, T are powers of 1024.
// Throws std::invalid_argument naming the text.
uint64_t parse_memory_size(const std::string& text);
// "1.5 GB", "12.0 MB", "900 B".
std::string format_memory_size(uint64_t bytes);

}  // namespace loom::models
