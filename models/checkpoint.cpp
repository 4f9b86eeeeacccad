// Parameter-store and model checkpoints and the training-state sidecar
// (docs/CHECKPOINTS.md), on top of the safetensors reader and atomic writer in
// models/safetensors.cpp. Every failure is a CheckpointError naming the file.
#include <atomic>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "models/checkpoint.hpp"
#include "models/text/tokenizer.hpp"

namespace loom::models {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int kMaxMetadataDepth = 64;  // JSON inside metadata strings (loom.config)

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw CheckpointError("checkpoint file '" + path + "': " + what);
}

}  // namespace

// ---- parameter stores ----

void save_parameters(const std::string& path, ParameterStore& params, const std::map<std::string, std::string>& metadata) {
  std::vector<NamedTensor> tensors;
  for (const ParameterStore::Entry& e : params.entries()) tensors.push_back({e.name, params.value(e.name)});
  save_safetensors(path, tensors, metadata);
}

namespace {

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Every problem between a file and a store, in one message.
void check_parameters_match(const SafetensorsFile& file, const ParameterStore& params, bool allow_extra) {
  std::vector<std::string> missing, extra, mismatched;
  for (const ParameterStore::Entry& e : params.entries()) {
    auto it = file.tensors.find(e.name);
    if (it == file.tensors.end()) missing.push_back(e.name);
    else if (!(it->second.shape() == e.shape))
      mismatched.push_back(e.name + " (file " + it->second.shape().str() + ", model " + e.shape.str() + ")");
    else if (it->second.dtype() == DType::I32)
      mismatched.push_back(e.name + " (file holds integers, parameters are floating point)");
  }
  if (!allow_extra)
    for (const auto& [name, tensor] : file.tensors)
      if (!params.has(name)) extra.push_back(name);
  if (missing.empty() && extra.empty() && mismatched.empty()) return;
  std::string what = "does not match the model's parameters:";
  if (!missing.empty()) what += "\n  missing: " + join_names(missing);
  if (!mismatched.empty()) what += "\n  wrong shape or dtype: " + join_names(mismatched);
  if (!extra.empty()) what += "\n  not in the model (allow_extra to ignore): " + join_names(extra);
  fail(file.path, what);
}

}  // namespace

std::map<std::string, std::string> load_parameters(const std::string& path, ParameterStore& params,
                                                   const LoadParametersOptions& options) {
  SafetensorsFile file = load_safetensors(path);
  check_parameters_match(file, params, options.allow_extra);
  for (const ParameterStore::Entry& e : params.entries()) {
    const Tensor& source = file.tensors.at(e.name);
    TensorRef target = params.value(e.name);
    const Tensor converted = source.dtype() == params.dtype() ? Tensor() : source.to(params.dtype());
    const Tensor& bytes = source.dtype() == params.dtype() ? source : converted;
    std::memcpy(target.data, bytes.raw(), bytes.bytes());
  }
  return std::move(file.metadata);
}

// ---- model checkpoints ----

namespace {

constexpr const char* kConfigKey = "loom.config";
constexpr const char* kSourceVocabKey = "loom.source_vocab";
constexpr const char* kTargetVocabKey = "loom.target_vocab";
constexpr const char* kFormatVersionKey = "loom.format_version";

json parse_json_value(const std::string& text, const std::string& path, const std::string& what) {
  int deepest = 0;
  json value;
  try {
    value = json::parse(text, [&](int depth, json::parse_event_t, json&) {
      deepest = std::max(deepest, depth);
      return true;
    });
  } catch (const json::exception& e) {
    fail(path, what + " is not valid JSON: " + e.what());
  }
  if (deepest > kMaxMetadataDepth) fail(path, what + " nests deeper than " + std::to_string(kMaxMetadataDepth) + " levels");
  return value;
}

std::vector<std::string> parse_vocab(const std::map<std::string, std::string>& metadata, const char* key,
                                     const std::string& path) {
  auto it = metadata.find(key);
  if (it == metadata.end()) fail(path, std::string("has no ") + key + " in its metadata");
  const json tokens = parse_json_value(it->second, path, std::string("metadata ") + key);
  if (!tokens.is_array()) fail(path, std::string("metadata ") + key + " is not a JSON array of tokens");
  std::vector<std::string> out;
  for (const json& t : tokens) {
    if (!t.is_string()) fail(path, std::string("metadata ") + key + " holds a non-string token " + t.dump().substr(0, 60));
    out.push_back(t.get<std::string>());
  }
  return out;
}

CheckpointInfo info_from_metadata(std::map<std::string, std::string> metadata, const std::string& path) {
  auto version = metadata.find(kFormatVersionKey);
  if (version == metadata.end())
    fail(path, "is not a Loom model checkpoint: its metadata has no loom.format_version (a plain parameter file? "
               "use load_parameters)");
  if (version->second != kCheckpointFormatVersion)
    fail(path, "has checkpoint format version '" + version->second + "'; this Loom reads version " +
                   kCheckpointFormatVersion);
  CheckpointInfo info;
  auto config = metadata.find(kConfigKey);
  if (config == metadata.end()) fail(path, "has no loom.config in its metadata");
  if (!parse_json_value(config->second, path, "metadata loom.config").is_object())
    fail(path, "metadata loom.config is not a JSON object");
  info.config_json = config->second;
  info.source_vocab = parse_vocab(metadata, kSourceVocabKey, path);
  info.target_vocab = parse_vocab(metadata, kTargetVocabKey, path);
  for (const char* key : {kConfigKey, kSourceVocabKey, kTargetVocabKey, kFormatVersionKey}) metadata.erase(key);
  info.extra_metadata = std::move(metadata);
  return info;
}

}  // namespace

void save_checkpoint(const std::string& path, ParameterStore& params, const CheckpointInfo& info) {
  if (!parse_json_value(info.config_json, path, "the config").is_object())
    fail(path, "cannot save: the config is not a JSON object: " + info.config_json);
  std::map<std::string, std::string> metadata = info.extra_metadata;
  metadata[kConfigKey] = info.config_json;
  metadata[kSourceVocabKey] = json(info.source_vocab).dump();
  metadata[kTargetVocabKey] = json(info.target_vocab).dump();
  metadata[kFormatVersionKey] = kCheckpointFormatVersion;
  save_parameters(path, params, metadata);
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  return info_from_metadata(read_safetensors_header(path).metadata, path);
}

CheckpointInfo load_checkpoint(const std::string& path, ParameterStore& params) {
  CheckpointInfo info = read_checkpoint_info(path);
  load_parameters(path, params);
  return info;
}

std::string config_to_json(const std::map<std::string, std::string>& config) { return json(config).dump(); }

std::map<std::string, std::string> config_from_json(const std::string& text) {
  const json j = parse_json_value(text, "<config>", "the config");
  if (!j.is_object()) throw CheckpointError("config is not a JSON object: " + text);
  std::map<std::string, std::string> config;
  for (const auto& [key, value] : j.items()) config[key] = value.is_string() ? value.get<std::string>() : value.dump();
  return config;
}

std::vector<std::string> vocabulary_tokens(const text::Vocabulary& vocab) {
  std::vector<std::string> tokens;
  for (int32_t id = 0; id < vocab.size(); ++id) tokens.push_back(vocab.token(id));
  return tokens;
}

// Vocabulary offers no constructor from a token list, only load(path): the
// tokens go through a private temporary file, checked here first so that
// errors name token ids rather than that file.
text::Vocabulary vocabulary_from_tokens(const std::vector<std::string>& tokens) {
  std::set<std::string> seen;
  for (size_t id = 0; id < tokens.size(); ++id) {
    const std::string& t = tokens[id];
    if (t.empty() || t.find_first_of("\r\n") != std::string::npos)
      throw CheckpointError("vocabulary token " + std::to_string(id) + " is empty or holds a line break");
    if (!seen.insert(t).second) throw CheckpointError("vocabulary token '" + t + "' appears twice");
  }
  static std::atomic<uint64_t> counter{0};
  const fs::path tmp = fs::temp_directory_path() /
                       ("loom-vocab-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".txt");
  struct Remove {
    fs::path p;
    ~Remove() { std::error_code ec; fs::remove(p, ec); }
  } remove_tmp{tmp};
  {
    std::ofstream out(tmp);
    for (const std::string& t : tokens) out << t << '\n';
    if (!out) throw CheckpointError("cannot write the temporary vocabulary file " + tmp.string());
  }
  try {
    return text::Vocabulary::load(tmp.string());
  } catch (const text::TextError& e) {
    throw CheckpointError(std::string("vocabulary token list is invalid: ") + e.what());
  }
}

// ---- training state ----

namespace {

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
