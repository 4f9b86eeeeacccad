// Training state, saved beside a model checkpoint as the sidecar
// "<checkpoint>.<model hash>.train" (a safetensors file), so that a resumed
// run continues with the very same optimiser state, data position and random
// draws. The hash in the name ties a sidecar to one version of the model
// file, which lets the pair be replaced as one unit (save_checkpoint_with_state).
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>

#include "graph/parameters.hpp"
#include "graph/tensor.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"

namespace loom::io {

struct TrainingState {
  int64_t optimizer_steps = 0;  // Optimizer::steps_taken
  // Optimizer buffers per parameter, named "<buffer>.<parameter>" (e.g.
  // "adam_m.out.weight"), each shaped like its parameter.
  std::map<std::string, Tensor> optimizer_buffers;
  int64_t global_step = 0;  // updates applied so far
  int64_t epoch = 0;        // data position: the epoch being read ...
  int64_t batch_index = 0;  // ... and the next batch within it
  std::string rng_state;    // e.g. the text form of a std::mt19937_64
  // The schedule's own named state (optim::Schedule::state), e.g. a
  // plateau schedule's "scale", "best" and "bad_epochs".
  std::map<std::string, double> schedule_state;
  double best_validation_loss = std::numeric_limits<double>::infinity();
  std::map<std::string, std::string> extra;  // the caller's own keys
};

// FNV-1a 64 of a file's bytes, as 16 hex digits.
std::string model_file_hash(const std::string& path);
// "<checkpoint>.<model_hash>.train".
std::string training_state_path(const std::string& checkpoint_path, const std::string& model_hash);
// The sidecar of the model file now at checkpoint_path, or "" when it has
// none; a first-format sidecar "<checkpoint>.train" counts.
std::string find_training_state(const std::string& checkpoint_path);

// Writes the sidecar of the model file at checkpoint_path (save the model
// first) atomically, then removes that checkpoint's other sidecars.
void save_training_state(const std::string& checkpoint_path, const TrainingState& state);
// Saves a model and its training state as one unit: write_model writes the
// model to a staging file, the sidecar is written under that file's hash, the
// staging file is renamed over checkpoint_path, and then the previous
// sidecar is removed. Killed at any instant, the folder holds a model file
// whose own sidecar is beside it (the old pair or the new one). Failing with
// an error before the rename, it removes the staging file and the sidecar it
// wrote, then rethrows that error.
void save_checkpoint_with_state(const std::string& checkpoint_path,
                                const std::function<void(const std::string& path)>& write_model,
                                const TrainingState& state);
// Throws CheckpointError if the sidecar is missing (naming the complete
// checkpoints beside it), malformed, or belongs to a different model file.
TrainingState load_training_state(const std::string& checkpoint_path);

// Copies the optimizer's flat buffers into per-parameter tensors, and back
// (restore checks every buffer and parameter is present with its shape).
void capture_optimizer_state(TrainingState& state, optim::Optimizer& optimizer, ParameterStore& params);
void restore_optimizer_state(const TrainingState& state, optim::Optimizer& optimizer, ParameterStore& params);
void capture_schedule_state(TrainingState& state, const optim::LrSchedule& schedule);
void restore_schedule_state(const TrainingState& state, optim::LrSchedule& schedule);

}  // namespace loom::io
