// The training-state sidecar "<checkpoint>.<model hash>.train" (docs/CHECKPOINTS.md): the
// optimiser buffers, data position, random state and schedule state that let
// a resumed run replay the uninterrupted one step for step.
#include "io/training_state.hpp"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "io/parameter_io.hpp"
#include "io/safetensors.hpp"

namespace loom::io {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw CheckpointError("checkpoint file '" + path + "': " + what);
}

constexpr const char* kTrainPrefix = "loom.train.";
constexpr const char* kTrainVersion = "1";
constexpr const char* kOptimizerPrefix = "optimizer.";

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

// The schedule's entries ("loom.train.schedule.<name>"). Sidecars written
// before schedules kept their own state hold a plateau's three numbers
// under fixed names: they become the plateau schedule's entries.
void read_schedule_state(const std::map<std::string, std::string>& m, const std::string& path,
                         std::map<std::string, double>& out) {
  const std::string prefix = kTrainPrefix + std::string("schedule.");
  for (const auto& [key, value] : m)
    if (key.starts_with(prefix)) out[key.substr(prefix.size())] = parse_number<double>(m, key.substr(std::strlen(kTrainPrefix)), path);
  if (!out.empty() || !m.count(kTrainPrefix + std::string("plateau_scale"))) return;
  out["scale"] = parse_number<double>(m, "plateau_scale", path);
  out["best"] = parse_number<double>(m, "plateau_best", path);
  out["bad_epochs"] = parse_number<double>(m, "plateau_bad_epochs", path);
}

}  // namespace

// FNV-1a over the file's bytes: enough to tell two saves apart.
std::string model_file_hash(const std::string& path) {
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

std::string training_state_path(const std::string& checkpoint_path, const std::string& model_hash) {
  return checkpoint_path + "." + model_hash + ".train";
}

namespace {

namespace fs = std::filesystem;

constexpr const char* kFirstFormatSuffix = ".train";  // "<checkpoint>.train", before hashes named sidecars

// Every "<checkpoint>.<16 hex>.train" beside the checkpoint.
std::vector<std::string> hashed_sidecars(const std::string& checkpoint_path) {
  const fs::path checkpoint(checkpoint_path);
  const fs::path dir = checkpoint.parent_path().empty() ? fs::path(".") : checkpoint.parent_path();
  const std::string prefix = checkpoint.filename().string() + ".";
  std::vector<std::string> found;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() == prefix.size() + 16 + 6 && name.starts_with(prefix) && name.ends_with(".train"))
      found.push_back((checkpoint.parent_path() / name).string());
  }
  return found;
}

void remove_other_sidecars(const std::string& checkpoint_path, const std::string& keep) {
  for (const std::string& old : hashed_sidecars(checkpoint_path))
    if (old != keep) ::unlink(old.c_str());
  ::unlink((checkpoint_path + kFirstFormatSuffix).c_str());
}

void write_state(const std::string& sidecar, const std::string& model_hash, const TrainingState& s) {
  std::map<std::string, std::string> m;
  const std::string p = kTrainPrefix;
  m[p + "format_version"] = kTrainVersion;
  m[p + "model_hash"] = model_hash;
  m[p + "optimizer_steps"] = number_text(s.optimizer_steps);
  m[p + "global_step"] = number_text(s.global_step);
  m[p + "epoch"] = number_text(s.epoch);
  m[p + "batch_index"] = number_text(s.batch_index);
  m[p + "rng_state"] = s.rng_state;
  for (const auto& [key, value] : s.schedule_state) m[p + "schedule." + key] = number_text(value);
  m[p + "best_validation_loss"] = number_text(s.best_validation_loss);
  for (const auto& [key, value] : s.extra) m[p + "extra." + key] = value;
  std::vector<NamedTensor> tensors;
  for (const auto& [name, tensor] : s.optimizer_buffers) tensors.push_back({kOptimizerPrefix + name, tensor.ref()});
  save_safetensors(sidecar, tensors, m);
}

// The checkpoints beside `checkpoint_path` whose sidecar matches them: what
// to resume from instead of a model file without one.
std::string complete_neighbours(const std::string& checkpoint_path) {
  const fs::path checkpoint(checkpoint_path);
  const fs::path dir = checkpoint.parent_path().empty() ? fs::path(".") : checkpoint.parent_path();
  std::string names;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string path = (checkpoint.parent_path() / e.path().filename()).string();
    if (path == checkpoint_path || e.path().extension() != ".safetensors") continue;
    if (!find_training_state(path).empty()) names += (names.empty() ? "" : ", ") + path;
  }
  return names.empty() ? "no other checkpoint here has its training state"
                       : "checkpoints here with their training state: " + names;
}

}  // namespace

std::string find_training_state(const std::string& checkpoint_path) {
  std::error_code ec;
  if (!fs::is_regular_file(checkpoint_path, ec)) return "";
  const std::string hashed = training_state_path(checkpoint_path, model_file_hash(checkpoint_path));
  if (fs::exists(hashed, ec)) return hashed;
  const std::string first_format = checkpoint_path + kFirstFormatSuffix;
  return fs::exists(first_format, ec) ? first_format : "";
}

void save_training_state(const std::string& checkpoint_path, const TrainingState& s) {
  const std::string hash = model_file_hash(checkpoint_path);
  const std::string sidecar = training_state_path(checkpoint_path, hash);
  write_state(sidecar, hash, s);
  remove_other_sidecars(checkpoint_path, sidecar);
}

namespace {

// Undoes what a failed save_checkpoint_with_state wrote, so that a full disk
// or a write error leaves only the previous pair (instead of a staging file
// and an orphan sidecar until the next run starts). Only while the staging
// file is still there: then the commit did not happen. The new sidecar stays
// when it is also the model's in place (the same bytes, so the same hash).
// Never throws: the caller rethrows the error that brought it here.
void discard_unfinished_save(const std::string& checkpoint_path, const std::string& staged,
                             const std::string& sidecar) noexcept {
  std::error_code ec;
  if (!fs::exists(staged, ec)) return;
  try {
    if (!sidecar.empty() && sidecar != find_training_state(checkpoint_path)) ::unlink(sidecar.c_str());
  } catch (const std::exception&) {
    // The model in place cannot be hashed: keep the sidecar rather than risk its own.
  }
  ::unlink(staged.c_str());
}

}  // namespace

void save_checkpoint_with_state(const std::string& checkpoint_path,
                                const std::function<void(const std::string& path)>& write_model,
                                const TrainingState& state) {
  // ".tmp." in the name: a run that finds it at start knows it was left over.
  const std::string staged = checkpoint_path + ".tmp.staged";
  std::string sidecar;  // named once the staged model's hash is known
  try {
    write_model(staged);
    const std::string hash = model_file_hash(staged);
    sidecar = training_state_path(checkpoint_path, hash);
    write_state(sidecar, hash, state);
    rename_durably(staged, checkpoint_path);
  } catch (...) {
    discard_unfinished_save(checkpoint_path, staged, sidecar);
    throw;
  }
  remove_other_sidecars(checkpoint_path, sidecar);
}

TrainingState load_training_state(const std::string& checkpoint_path) {
  const std::string path = find_training_state(checkpoint_path);
  if (path.empty()) {
    std::error_code ec;
    if (!fs::is_regular_file(checkpoint_path, ec)) fail(checkpoint_path, "does not exist, so it cannot be resumed");
    fail(checkpoint_path, "has no training state beside it (no " +
                              training_state_path(checkpoint_path, model_file_hash(checkpoint_path)) +
                              "): it translates but cannot be resumed; " + complete_neighbours(checkpoint_path));
  }
  SafetensorsFile file = load_safetensors(path);
  const auto& m = file.metadata;
  auto version = m.find(kTrainPrefix + std::string("format_version"));
  if (version == m.end() || version->second != kTrainVersion)
    fail(path, std::string("is not a Loom training-state file of version ") + kTrainVersion);
  auto hash = m.find(kTrainPrefix + std::string("model_hash"));
  if (hash == m.end() || hash->second != model_file_hash(checkpoint_path))
    fail(path, "was written for another version of the model file '" + checkpoint_path +
                   "' (an interrupted save?); resume from a matching pair");
  TrainingState s;
  s.optimizer_steps = parse_number<int64_t>(m, "optimizer_steps", path);
  s.global_step = parse_number<int64_t>(m, "global_step", path);
  s.epoch = parse_number<int64_t>(m, "epoch", path);
  s.batch_index = parse_number<int64_t>(m, "batch_index", path);
  read_schedule_state(m, path, s.schedule_state);
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
  state.schedule_state = schedule.state();
}

void restore_schedule_state(const TrainingState& state, optim::LrSchedule& schedule) {
  // A schedule without state ignores it; one with state finds its entries
  // (a sidecar of another schedule kind lacks them: named in the error).
  if (state.schedule_state.empty() && schedule.state().empty()) return;
  try {
    schedule.restore(state.schedule_state);
  } catch (const std::logic_error& e) {  // invalid_argument, or out_of_range from a map's at()
    throw CheckpointError(std::string("the training state does not fit this run's schedule: ") + e.what() +
                          " (resume with the --schedule the run was started with)");
  }
}

}  // namespace loom::io
