// The language model as a model family: its command-line options (data, as
// runtime::OptionSpec), a new model from a training file (vocabulary built
// from it), a model from a checkpoint (loom.config checked against the file's
// tensors before anything is allocated) and its data. register_lm() adds it
// to runtime::model_registry() as "lm".
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/lm/language_model.hpp"
#include "runtime/model_family.hpp"

namespace loom::models::lm {

// Rows of an evaluation batch (file order, no shuffling).
inline constexpr int64_t kEvaluationBatch = 64;

std::vector<runtime::OptionSpec> lm_options();

// The config a run asks for (vocabulary size given) from the family's options;
// throws std::invalid_argument naming the option at fault.
LmConfig config_of(const runtime::RunRequest& request, int64_t vocab);

// The model a checkpoint's metadata describes, parameters declared but not
// loaded: loom.config and loom.vocab are checked against the file's tensors
// first. Throws CheckpointError naming the file.
std::unique_ptr<LanguageModel> restore_lm(const std::string& path, const io::CheckpointInfo& info);

// Adds "lm" to runtime::model_registry() (once).
void register_lm();

}  // namespace loom::models::lm
