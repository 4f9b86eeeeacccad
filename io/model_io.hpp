// A translator on disk: the Seq2Seq parameters under docs/MODEL.md's names, its
// hyper-parameters ("loom.config") and both vocabularies, in one safetensors
// checkpoint (io/checkpoint.hpp), so that a checkpoint alone translates.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "models/seq2seq.hpp"
#include "text/vocabulary.hpp"

namespace loom::models {

std::map<std::string, std::string> config_to_map(const Seq2SeqConfig& config);
// Throws CheckpointError naming the missing or malformed key.
Seq2SeqConfig config_from_map(const std::map<std::string, std::string>& values, const std::string& path);

struct LoadedModel {
  std::unique_ptr<Seq2Seq> model;
  text::Vocabulary source_vocab, target_vocab;
};

void save_model(const std::string& path, Seq2Seq& model, const text::Vocabulary& source_vocab,
                const text::Vocabulary& target_vocab);
// Builds the model its metadata describes and loads its weights strictly.
// The vocabulary sizes must equal the embedding tables' rows.
LoadedModel load_model(const std::string& path);

}  // namespace loom::models
