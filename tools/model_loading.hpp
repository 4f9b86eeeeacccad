// Loading a checkpoint for a command that uses the model (translate, eval):
// one place for the error line, the --allow-nonfinite option and its warning.
#pragma once
#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "models/seq2seq/model_io.hpp"

namespace loom::cli {

// Adds --allow-nonfinite, setting allow_nonfinite.
void add_allow_nonfinite_option(boost::program_options::options_description& options, bool& allow_nonfinite);

// The model in `checkpoint`, or nullopt after printing "loom COMMAND: why"
// (the reason names the file). Weights holding NaN or infinity are refused
// unless allow_nonfinite, which loads them with a warning naming the tensors.
std::optional<models::seq2seq::LoadedModel> load_model_or_report(std::string_view command, const std::string& checkpoint,
                                                         bool allow_nonfinite);

}  // namespace loom::cli
