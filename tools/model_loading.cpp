#include "tools/model_loading.hpp"

#include <iostream>

#include "io/parameter_io.hpp"

namespace loom::cli {

void add_allow_nonfinite_option(boost::program_options::options_description& options, bool& allow_nonfinite) {
  options.add_options()("allow-nonfinite", boost::program_options::bool_switch(&allow_nonfinite),
                        "load a checkpoint whose weights hold NaN or infinity (with a warning) instead of "
                        "refusing it; its results are then not numbers");
}

std::optional<models::seq2seq::LoadedModel> load_model_or_report(std::string_view command, const std::string& checkpoint,
                                                         bool allow_nonfinite) {
  try {
    models::seq2seq::LoadedModel loaded = models::seq2seq::load_model(checkpoint, {.allow_nonfinite = allow_nonfinite});
    if (!loaded.nonfinite_parameters.empty())
      std::cerr << "loom " << command << ": warning: " << checkpoint << ": NaN or infinity in "
                << io::join_names(loaded.nonfinite_parameters) << " (loaded because of --allow-nonfinite)\n";
    return loaded;
  } catch (const std::exception& e) {
    // Checkpoint errors name the file already; anything else gets it here.
    std::string why = e.what();
    if (why.find(checkpoint) == std::string::npos) why = "cannot load checkpoint '" + checkpoint + "': " + why;
    std::cerr << "loom " << command << ": " << why << "\n";
    return std::nullopt;
  }
}

}  // namespace loom::cli
