// Model checkpoints: a safetensors file (io/safetensors.hpp) holding the
// model's parameters under its own names (the translator's load into PyTorch
// with strict=True) plus "loom.*" metadata: the model kind, its
// hyper-parameters and whatever else the model keeps (vocabularies). This file
// knows no model; each model says what goes into its metadata. Training state
// goes to a sidecar file (io/training_state.hpp).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "graph/parameters.hpp"
#include "io/parameter_io.hpp"
#include "io/safetensors.hpp"
#include "text/vocabulary.hpp"

namespace loom::io {

inline constexpr const char* kCheckpointFormatVersion = "1";

// What travels beside the weights so that a checkpoint alone rebuilds its model.
struct CheckpointInfo {
  std::string model_kind;          // "loom.model" ("" in files written before it existed: translators)
  std::string config_json = "{}";  // "loom.config": a JSON object of hyper-parameters
  std::map<std::string, std::string> metadata;  // every other key (e.g. "loom.source_vocab"), as stored
};

// Model file: the store's parameters plus loom.model, loom.config,
// loom.format_version and the info's other metadata.
void save_checkpoint(const std::string& path, const ParameterStore& params, const CheckpointInfo& info);
// Reads the metadata only (to build the model before loading its weights).
CheckpointInfo read_checkpoint_info(const std::string& path);
// Strict load: every store parameter present with its shape, nothing extra.
CheckpointInfo load_checkpoint(const std::string& path, ParameterStore& params);

// The parameters of a loaded checkpoint that hold NaN or infinity; unless
// allowed, any such throws CheckpointError naming the file and the tensors
// (a model that cannot be evaluated or resumed).
std::vector<std::string> check_loaded_weights(const std::string& path, ParameterStore& params, bool allow_nonfinite);

// Hyper-parameters as a flat JSON object of strings and back (non-string JSON
// values come back as their JSON text, e.g. "16" or "0.1").
std::string config_to_json(const std::map<std::string, std::string>& config);
std::map<std::string, std::string> config_from_json(const std::string& json);

// A list of tokens as metadata (a JSON array of strings), and back: reading
// throws CheckpointError naming the file and the key when it is missing or
// is not such an array.
std::string token_list_json(const std::vector<std::string>& tokens);
std::vector<std::string> token_list(const CheckpointInfo& info, const std::string& key, const std::string& path);

std::vector<std::string> vocabulary_tokens(const text::Vocabulary& vocab);
// Throws CheckpointError if the reserved four are not first or a token repeats.
text::Vocabulary vocabulary_from_tokens(const std::vector<std::string>& tokens);

}  // namespace loom::io
