// A translator on disk: the Seq2Seq parameters under docs/MODEL.md's names, its
// hyper-parameters ("loom.config") and both vocabularies, in one safetensors
// checkpoint (io/checkpoint.hpp), so that a checkpoint alone translates.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/checkpoint.hpp"
#include "models/seq2seq/seq2seq.hpp"
#include "text/vocabulary.hpp"

namespace loom::models::seq2seq {

// The translator's name among models ("loom.model") and its metadata keys.
inline constexpr const char* kSeq2SeqKind = "seq2seq";
inline constexpr const char* kSourceVocabKey = "loom.source_vocab";
inline constexpr const char* kTargetVocabKey = "loom.target_vocab";

std::map<std::string, std::string> config_to_map(const Seq2SeqConfig& config);
// Throws CheckpointError naming the missing or malformed key.
Seq2SeqConfig config_from_map(const std::map<std::string, std::string>& values, const std::string& path);

struct LoadedModel {
  std::unique_ptr<Seq2Seq> model;
  text::Vocabulary source_vocab, target_vocab;
  // Parameters holding a NaN or an infinity (only with allow_nonfinite), for
  // the caller's warning.
  std::vector<std::string> nonfinite_parameters;
};

struct LoadModelOptions {
  // Load a model whose weights hold NaN or infinity instead of refusing it
  // (to inspect a diverged run); LoadedModel names the tensors.
  bool allow_nonfinite = false;
};

// loom.config of a model checkpoint, read from its header alone.
Seq2SeqConfig read_model_config(const std::string& path);

// What a translator's checkpoint holds besides its weights.
io::CheckpointInfo checkpoint_info(const Seq2SeqConfig& config, const text::Vocabulary& source_vocab,
                               const text::Vocabulary& target_vocab);
void save_model(const std::string& path, const Seq2Seq& model, const text::Vocabulary& source_vocab,
                const text::Vocabulary& target_vocab);
// The model a checkpoint's metadata describes, checked against its tensors
// (as load_model below), with its weights not loaded yet.
LoadedModel build_model(const std::string& path);
// Builds the model its metadata describes and loads its weights strictly.
// Before anything is allocated, every size in loom.config is checked against
// the tensor shapes the file declares (a contradiction names the key and the
// tensor), and dropout and label_smoothing must be in [0, 1). The vocabulary
// sizes must equal the embedding tables' rows. Weights holding NaN or
// infinity are refused, naming the tensor, unless options allow them.
LoadedModel load_model(const std::string& path, const LoadModelOptions& options = {});

}  // namespace loom::models::seq2seq
