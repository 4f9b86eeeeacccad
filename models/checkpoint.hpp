// Checkpoints in the safetensors format (docs/CHECKPOINTS.md): an 8-byte
// little-endian header length N, N bytes of JSON naming every tensor's dtype,
// shape and [begin, end) byte range, then the raw little-endian data. Files are
// written atomically (temp file, fsync, rename, fsync of the directory), and
// read with every field validated: a hostile or truncated file gives a
// CheckpointError naming the file and the problem, never a crash.
// A model checkpoint holds exactly docs/MODEL.md's parameter names (so it loads into
// PyTorch with strict=True) plus "loom.*" metadata; training state goes to a
// sidecar "<path>.train" safetensors file.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "graph/parameters.hpp"
#include "graph/tensor.hpp"
#include "models/text/vocabulary.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"

namespace loom::models {

// A checkpoint file cannot be written, read or matched to a model; the message
// names the file and what is wrong.
struct CheckpointError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- safetensors ----

// A tensor to write: a name and a view of memory the caller owns (f32, f64 or i32).
struct NamedTensor {
  std::string name;
  TensorRef tensor;
};

// One header entry, validated. dtype is the file's ("F32", "F64", "I32", "I64").
struct SafetensorsEntry {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range inside the data section
};

struct SafetensorsHeader {
  std::string path;
  std::vector<SafetensorsEntry> entries;  // sorted by begin offset
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // file offset of the data section (8 + N)
  uint64_t data_bytes = 0;
};

struct SafetensorsFile {
  std::string path;
  std::map<std::string, Tensor> tensors;  // I64 is converted to I32 (range-checked)
  std::map<std::string, std::string> metadata;

  bool has(std::string_view name) const { return tensors.find(std::string(name)) != tensors.end(); }
  // Throws CheckpointError naming the file and the missing tensor.
  const Tensor& tensor(std::string_view name) const;
};

// Writes tensors sorted by name (the same bytes whatever the vector's order),
// the header padded with spaces to a multiple of 8 bytes. Names must be unique,
// non-empty and not "__metadata__". Atomic: on any failure the previous file at
// `path` is intact and no temporary file is left.
void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads and validates the header only (the file size is checked against it).
SafetensorsHeader read_safetensors_header(const std::string& path);
// Reads and validates the whole file.
SafetensorsFile load_safetensors(const std::string& path);

// Test hook: called at each stage of an atomic write ("open", "write",
// "fsync", "rename"); a hook that throws simulates a failure there. Pass an
// empty function to remove it.
void set_atomic_write_hook_for_testing(std::function<void(std::string_view stage)> hook);

// ---- parameter stores ----

// Writes exactly the store's parameters: their names and shapes, no padding.
void save_parameters(const std::string& path, ParameterStore& params,
                     const std::map<std::string, std::string>& metadata = {});

struct LoadParametersOptions {
  bool allow_extra = false;  // tensors in the file that the store lacks are ignored
};

// Fills every store parameter from the file (f32/f64 converted to the store's
// dtype). Checks everything before writing anything: one CheckpointError lists
// every missing, extra and mis-shaped name. Returns the file's metadata.
std::map<std::string, std::string> load_parameters(const std::string& path, ParameterStore& params,
                                                   const LoadParametersOptions& options = {});

// ---- model checkpoints ----

inline constexpr const char* kCheckpointFormatVersion = "1";

// What travels beside the weights so that a checkpoint alone can translate.
struct CheckpointInfo {
  std::string config_json = "{}";         // "loom.config": a JSON object of hyper-parameters
  std::vector<std::string> source_vocab;  // "loom.source_vocab": tokens in id order
  std::vector<std::string> target_vocab;  // "loom.target_vocab"
  std::map<std::string, std::string> extra_metadata;  // any other keys, kept as they are
};

// Model file: the store's parameters plus loom.config, loom.source_vocab,
// loom.target_vocab and loom.format_version.
void save_checkpoint(const std::string& path, ParameterStore& params, const CheckpointInfo& info);
// Reads the metadata only (to build the model before loading its weights).
CheckpointInfo read_checkpoint_info(const std::string& path);
// Strict load: every store parameter present with its shape, nothing extra.
CheckpointInfo load_checkpoint(const std::string& path, ParameterStore& params);

// Hyper-parameters as a flat JSON object of strings and back (non-string JSON
// values come back as their JSON text, e.g. "16" or "0.1").
std::string config_to_json(const std::map<std::string, std::string>& config);
std::map<std::string, std::string> config_from_json(const std::string& json);

std::vector<std::string> vocabulary_tokens(const text::Vocabulary& vocab);
// Throws CheckpointError if the reserved four are not first or a token repeats.
text::Vocabulary vocabulary_from_tokens(const std::vector<std::string>& tokens);

// ---- training state (sidecar "<checkpoint>.train") ----

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
