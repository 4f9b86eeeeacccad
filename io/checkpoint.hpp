// Model checkpoints: a safetensors file (io/safetensors.hpp) holding exactly
// docs/MODEL.md's parameter names (so it loads into PyTorch with strict=True) plus
// "loom.*" metadata: the hyper-parameters and both vocabularies. Training state
// goes to a sidecar file (io/training_state.hpp).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "graph/parameters.hpp"
#include "io/parameter_io.hpp"
#include "io/safetensors.hpp"
#include "text/vocabulary.hpp"

namespace loom::models {

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
void save_checkpoint(const std::string& path, const ParameterStore& params, const CheckpointInfo& info);
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

}  // namespace loom::models
