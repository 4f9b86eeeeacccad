// Model checkpoints (docs/CHECKPOINTS.md): the parameters plus the loom.*
// metadata that lets a checkpoint alone rebuild and translate. Every failure
// is a CheckpointError naming the file.
#include "io/checkpoint.hpp"

#include <nlohmann/json.hpp>

#include "text/tokenizer.hpp"

namespace loom::io {
namespace {

using nlohmann::json;

constexpr int kMaxMetadataDepth = 64;  // JSON inside metadata strings (loom.config)

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw CheckpointError("checkpoint file '" + path + "': " + what);
}

}  // namespace

// ---- model checkpoints ----

namespace {

constexpr const char* kConfigKey = "loom.config";
constexpr const char* kModelKey = "loom.model";
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
  if (auto kind = metadata.find(kModelKey); kind != metadata.end()) info.model_kind = kind->second;
  for (const char* key : {kConfigKey, kModelKey, kFormatVersionKey}) metadata.erase(key);
  info.metadata = std::move(metadata);
  return info;
}

}  // namespace

void save_checkpoint(const std::string& path, const ParameterStore& params, const CheckpointInfo& info) {
  if (!parse_json_value(info.config_json, path, "the config").is_object())
    fail(path, "cannot save: the config is not a JSON object: " + info.config_json);
  std::map<std::string, std::string> metadata = info.metadata;
  metadata[kConfigKey] = info.config_json;
  if (!info.model_kind.empty()) metadata[kModelKey] = info.model_kind;
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

std::vector<std::string> check_loaded_weights(const std::string& path, ParameterStore& params, bool allow_nonfinite) {
  std::vector<std::string> bad = params.nonfinite();
  if (!bad.empty() && !allow_nonfinite)
    fail(path, "parameter " + bad.front() + " holds NaN or infinity (" + std::to_string(bad.size()) +
                   " tensor(s) in all: " + join_names(bad) + "); it cannot be evaluated or trained on. "
                   "Load it anyway with --allow-nonfinite (LoadOptions::allow_nonfinite)");
  return bad;
}

std::string config_to_json(const std::map<std::string, std::string>& config) { return json(config).dump(); }

std::map<std::string, std::string> config_from_json(const std::string& text) {
  const json j = parse_json_value(text, "<config>", "the config");
  if (!j.is_object()) throw CheckpointError("config is not a JSON object: " + text);
  std::map<std::string, std::string> config;
  for (const auto& [key, value] : j.items()) config[key] = value.is_string() ? value.get<std::string>() : value.dump();
  return config;
}

std::string token_list_json(const std::vector<std::string>& tokens) { return json(tokens).dump(); }

std::vector<std::string> token_list(const CheckpointInfo& info, const std::string& key, const std::string& path) {
  auto it = info.metadata.find(key);
  if (it == info.metadata.end()) fail(path, "has no " + key + " in its metadata");
  const json tokens = parse_json_value(it->second, path, "metadata " + key);
  if (!tokens.is_array()) fail(path, "metadata " + key + " is not a JSON array of tokens");
  std::vector<std::string> out;
  for (const json& t : tokens) {
    if (!t.is_string()) fail(path, "metadata " + key + " holds a non-string token " + t.dump().substr(0, 60));
    out.push_back(t.get<std::string>());
  }
  return out;
}

std::vector<std::string> vocabulary_tokens(const text::Vocabulary& vocab) {
  return vocab.tokens();
}

// Vocabulary offers no constructor from a token list, only load(path): the
// tokens go through a private temporary file, checked here first so that
// errors name token ids rather than that file.
text::Vocabulary vocabulary_from_tokens(const std::vector<std::string>& tokens) {
  try {
    return text::Vocabulary::from_tokens(tokens, "vocabulary token list");
  } catch (const text::TextError& e) {
    throw CheckpointError(std::string("vocabulary token list is invalid: ") + e.what());
  }
}

}  // namespace loom::io
