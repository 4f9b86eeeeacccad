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
#include "optim/optimizer.hpp"
#include "runtime/model.hpp"

namespace loom::train {

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
  std::string largest;                  // the training shape key with the largest transient arena
  uint64_t total() const {
    return process + parameters + gradients + optimizer_state + transient + scratch + plan_inputs;
  }
  // "1.2 GB (process 40.0 MB, parameters 10.0 MB, ..., 21 plans: transient arena ...)"
  std::string describe() const;
};

// The exact terms (parameters, gradients, optimizer state) of parameters of
// these shapes and an optimiser; allocates nothing of the model's size.
MemoryEstimate estimate_parameter_memory(const std::vector<std::pair<std::string, Shape>>& parameter_shapes,
                                         DType dtype, const optim::OptimizerConfig& optimizer);

// The planner's figures for one plan; the step scratch is the LSTM
// backward's (ops/lstm_kernels.hpp), the one op that asks for any.
PlanMemory plan_memory(const Plan& plan);

// What a run will serve: the training batches of its first kShapeEpochs
// epochs (later epochs may still bring new shapes) up to max_steps, and the
// validation batches.
inline constexpr int64_t kShapeEpochs = 10;
struct RunShapes {
  const runtime::Dataset* train = nullptr;
  const runtime::Dataset* valid = nullptr;
  int64_t epochs = 1;
  int64_t max_steps = 0;  // 0: no limit
};

// Adds the plans of every distinct batch shape of the run to `estimate`,
// compiled by the model itself (nothing is run).
void add_plan_memory(MemoryEstimate& estimate, const runtime::Model& model, const RunShapes& run);

// MemAvailable from /proc/meminfo; nullopt where it cannot be read.
std::optional<uint64_t> available_memory_bytes();

// The estimate exceeds the limit; the message gives both numbers.
struct InsufficientMemory : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws InsufficientMemory when the estimate exceeds max_memory (0: no
// limit) or the available memory (when known).
void check_memory(const MemoryEstimate& estimate, uint64_t max_memory, std::optional<uint64_t> available);

// Resident bytes of this process now (/proc/self/statm); 0 where unknown.
uint64_t resident_memory_bytes();

// "2G", "512M", "64K", "1000" (bytes); K, M, G, T are powers of 1024.
// Throws std::invalid_argument naming the text.
uint64_t parse_memory_size(const std::string& text);
// "1.5 GB", "12.0 MB", "900 B".
std::string format_memory_size(uint64_t bytes);

}  // namespace loom::train
