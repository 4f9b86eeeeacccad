// The training-state sidecar "<checkpoint>.train" (docs/CHECKPOINTS.md): the
// optimiser buffers, data position, random state and schedule state that let
// a resumed run replay the uninterrupted one step for step.
#include "io/training_state.hpp"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include "io/parameter_io.hpp"
#include "io/safetensors.hpp"

namespace loom::models {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw CheckpointError("checkpoint file '" + path + "': " + what);
}

constexpr const char* kTrainPrefix = "loom.train.";
constexpr const char* kTrainVersion = "1";
constexpr const char* kOptimizerPrefix = "optimizer.";

// FNV-1a over the file's bytes: enough to tell two saves apart.
std::string file_hash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError("model file '" + path + "' cannot be opened; save the model before its training state");
  uint64_t h = 1469598103934665603ull;
  std::vector<char> chunk(1 << 20);
  while (in.read(chunk.data(), std::streamsize(chunk.size())) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) h = (h ^ uint8_t(chunk[size_t(i)])) * 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

template <class T>
std::string number_text(T v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

template <class T>
T parse_number(const std::map<std::string, std::string>& metadata, const std::string& key, const std::string& path) {
  auto it = metadata.find(kTrainPrefix + key);
  if (it == metadata.end()) fail(path, "has no " + std::string(kTrainPrefix) + key + " in its metadata");
  const std::string& s = it->second;
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    fail(path, "metadata " + std::string(kTrainPrefix) + key + " is '" + s + "', not a number");
  return v;
}

}  // namespace

std::string training_state_path(const std::string& checkpoint_path) { return checkpoint_path + ".train"; }

void save_training_state(const std::string& checkpoint_path, const TrainingState& s) {
  std::map<std::string, std::string> m;
  const std::string p = kTrainPrefix;
  m[p + "format_version"] = kTrainVersion;
  m[p + "model_hash"] = file_hash(checkpoint_path);
  m[p + "optimizer_steps"] = number_text(s.optimizer_steps);
  m[p + "global_step"] = number_text(s.global_step);
  m[p + "epoch"] = number_text(s.epoch);
  m[p + "batch_index"] = number_text(s.batch_index);
  m[p + "rng_state"] = s.rng_state;
  m[p + "plateau_scale"] = number_text(s.plateau_scale);
  m[p + "plateau_best"] = number_text(s.plateau_best);
  m[p + "plateau_bad_epochs"] = number_text(s.plateau_bad_epochs);
  m[p + "best_validation_loss"] = number_text(s.best_validation_loss);
  for (const auto& [key, value] : s.extra) m[p + "extra." + key] = value;
  std::vector<NamedTensor> tensors;
  for (const auto& [name, tensor] : s.optimizer_buffers) tensors.push_back({kOptimizerPrefix + name, tensor.ref()});
  save_safetensors(training_state_path(checkpoint_path), tensors, m);
}

TrainingState load_training_state(const std::string& checkpoint_path) {
  const std::string path = training_state_path(checkpoint_path);
  SafetensorsFile file = load_safetensors(path);
  const auto& m = file.metadata;
  auto version = m.find(kTrainPrefix + std::string("format_version"));
  if (version == m.end() || version->second != kTrainVersion)
    fail(path, std::string("is not a Loom training-state file of version ") + kTrainVersion);
  auto hash = m.find(kTrainPrefix + std::string("model_hash"));
  if (hash == m.end() || hash->second != file_hash(checkpoint_path))
    fail(path, "was written for another version of the model file '" + checkpoint_path +
                   "' (an interrupted save?); resume from a matching pair");
  TrainingState s;
  s.optimizer_steps = parse_number<int64_t>(m, "optimizer_steps", path);
  s.global_step = parse_number<int64_t>(m, "global_step", path);
  s.epoch = parse_number<int64_t>(m, "epoch", path);
  s.batch_index = parse_number<int64_t>(m, "batch_index", path);
  s.plateau_scale = parse_number<double>(m, "plateau_scale", path);
  s.plateau_best = parse_number<double>(m, "plateau_best", path);
  s.plateau_bad_epochs = parse_number<int>(m, "plateau_bad_epochs", path);
  s.best_validation_loss = parse_number<double>(m, "best_validation_loss", path);
  auto rng = m.find(kTrainPrefix + std::string("rng_state"));
  if (rng == m.end()) fail(path, "has no loom.train.rng_state in its metadata");
  s.rng_state = rng->second;
  const std::string extra_prefix = kTrainPrefix + std::string("extra.");
  for (const auto& [key, value] : m)
    if (key.starts_with(extra_prefix)) s.extra[key.substr(extra_prefix.size())] = value;
  for (auto& [name, tensor] : file.tensors) {
    if (!name.starts_with(kOptimizerPrefix)) fail(path, "holds an unexpected tensor '" + name + "'");
    s.optimizer_buffers.emplace(name.substr(std::strlen(kOptimizerPrefix)), std::move(tensor));
  }
  return s;
}

void capture_optimizer_state(TrainingState& state, optim::Optimizer& optimizer, ParameterStore& params) {
  const size_t esz = dtype_size(params.dtype());
  state.optimizer_buffers.clear();
  for (const auto& [buffer, flat] : optimizer.state()) {
    if (flat->numel() != params.numel() || flat->dtype() != params.dtype())
      throw CheckpointError("optimizer buffer '" + buffer + "' does not have the parameter store's layout");
    for (const ParameterStore::Entry& e : params.entries()) {
      Tensor t(params.dtype(), e.shape);
      std::memcpy(t.raw(), static_cast<const std::byte*>(flat->raw()) + size_t(e.offset) * esz, t.bytes());
      state.optimizer_buffers.emplace(buffer + "." + e.name, std::move(t));
    }
  }
  state.optimizer_steps = optimizer.steps_taken();
}

void restore_optimizer_state(const TrainingState& state, optim::Optimizer& optimizer, ParameterStore& params) {
  std::vector<std::string> missing, mismatched;
  std::set<std::string> expected;
  auto buffers = optimizer.state();
  for (const auto& [buffer, flat] : buffers)
    for (const ParameterStore::Entry& e : params.entries()) {
      const std::string key = buffer + "." + e.name;
      expected.insert(key);
      auto it = state.optimizer_buffers.find(key);
      if (it == state.optimizer_buffers.end()) missing.push_back(key);
      else if (!(it->second.shape() == e.shape) || it->second.dtype() == DType::I32) mismatched.push_back(key);
    }
  std::vector<std::string> extra;
  for (const auto& [key, tensor] : state.optimizer_buffers)
    if (!expected.count(key)) extra.push_back(key);
  if (!missing.empty() || !mismatched.empty() || !extra.empty())
    throw CheckpointError("training state does not match the optimizer and model:" +
                          (missing.empty() ? "" : "\n  missing: " + join_names(missing)) +
                          (mismatched.empty() ? "" : "\n  wrong shape or dtype: " + join_names(mismatched)) +
                          (extra.empty() ? "" : "\n  unexpected (another optimizer?): " + join_names(extra)));
  const size_t esz = dtype_size(params.dtype());
  for (const auto& [buffer, flat] : buffers) {
    std::memset(flat->raw(), 0, flat->bytes());
    for (const ParameterStore::Entry& e : params.entries()) {
      const Tensor converted = state.optimizer_buffers.at(buffer + "." + e.name).to(params.dtype());
      std::memcpy(static_cast<std::byte*>(flat->raw()) + size_t(e.offset) * esz, converted.raw(), converted.bytes());
    }
  }
  optimizer.set_steps_taken(state.optimizer_steps);
}

void capture_schedule_state(TrainingState& state, const optim::LrSchedule& schedule) {
  state.plateau_scale = schedule.plateau_scale();
  state.plateau_best = schedule.best_validation();
  state.plateau_bad_epochs = schedule.bad_epochs();
}

void restore_schedule_state(const TrainingState& state, optim::LrSchedule& schedule) {
  schedule.restore_plateau(state.plateau_scale, state.plateau_best, state.plateau_bad_epochs);
}

}  // namespace loom::models
