// Training state, saved beside a model checkpoint as the sidecar
// "<checkpoint>.train" (a safetensors file), so that a resumed run continues
// with the very same optimiser state, data position and random draws.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "graph/parameters.hpp"
#include "graph/tensor.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"

namespace loom::models {

struct TrainingState {
  int64_t optimizer_steps = 0;  // Optimizer::steps_taken
  // Optimizer buffers per parameter, named "<buffer>.<parameter>" (e.g.
  // "adam_m.out.weight"), each shaped like its parameter.
  std::map<std::string, Tensor> optimizer_buffers;
  int64_t global_step = 0;  // updates applied so far
  int64_t epoch = 0;        // data position: the epoch being read ...
  int64_t batch_index = 0;  // ... and the next batch within it
  std::string rng_state;    // e.g. the text form of a std::mt19937_64
  double plateau_scale = 1.0;  // LrSchedule reduce-on-plateau state
  double plateau_best = 1e300;
  int plateau_bad_epochs = 0;
  double best_validation_loss = std::numeric_limits<double>::infinity();
  std::map<std::string, std::string> extra;  // the caller's own keys
};

std::string training_state_path(const std::string& checkpoint_path);  // checkpoint_path + ".train"

// Writes the sidecar atomically, recording a hash of the model file at
// checkpoint_path (save the model first) so that a sidecar left over from an
// interrupted save is detected on load.
void save_training_state(const std::string& checkpoint_path, const TrainingState& state);
// Throws CheckpointError if the sidecar is missing, malformed, or belongs to a
// different model file.
TrainingState load_training_state(const std::string& checkpoint_path);

// Copies the optimizer's flat buffers into per-parameter tensors, and back
// (restore checks every buffer and parameter is present with its shape).
void capture_optimizer_state(TrainingState& state, optim::Optimizer& optimizer, ParameterStore& params);
void restore_optimizer_state(const TrainingState& state, optim::Optimizer& optimizer, ParameterStore& params);
void capture_schedule_state(TrainingState& state, const optim::LrSchedule& schedule);
void restore_schedule_state(const TrainingState& state, optim::LrSchedule& schedule);

}  // namespace loom::models
