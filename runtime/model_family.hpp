// A model family: everything `loom train --model NAME`, `loom eval` and the
// checkpoint loader need to know of one kind of model, registered by an
// explicit call (models/register_models.hpp for the built-in ones, an
// example's own register function for a model from outside). Its command-line
// options are data (OptionSpec), so tools/ turns them into options with range
// checks and --help text, and a resumed run can compare them with the
// checkpoint's config without knowing the model.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "graph/named_registry.hpp"
#include "graph/precision.hpp"
#include "graph/tensor.hpp"
#include "io/checkpoint.hpp"
#include "runtime/model.hpp"

namespace loom::runtime {

using io::CheckpointInfo;

// One command-line option of a model family. Its value reaches the family
// as text (OptionValues), already checked against the kind and range.
struct OptionSpec {
  enum class Kind { Integer, Real, Text };
  std::string name;  // "hidden": --hidden, and the key of the saved config
  Kind kind = Kind::Integer;
  std::string default_value;  // as typed on a command line
  std::string help;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool max_exclusive = false;        // [min, max) rather than [min, max]
  std::vector<std::string> choices;  // Text: the allowed values (empty: any)
  // Part of the trained model (saved in loom.config under `name`, dashes as
  // underscores): an explicit value that contradicts a resumed checkpoint is refused.
  bool architecture = false;

  // An integer in [min, max].
  static OptionSpec integer(std::string name, int64_t value, std::string help, double min,
                            double max = std::numeric_limits<double>::infinity());
  // A number in [min, max], or [min, max) with max_exclusive.
  static OptionSpec real(std::string name, double value, std::string help, double min, double max,
                         bool max_exclusive = false);
  // Text, one of `choices` unless that is empty.
  static OptionSpec text(std::string name, std::string value, std::string help, std::vector<std::string> choices = {});
  // Marks the option as part of the model (see `architecture`).
  OptionSpec fixed_by_checkpoint() && {
    architecture = true;
    return std::move(*this);
  }
};

// Every option of a family by name, as text.
using OptionValues = std::map<std::string, std::string>;

// Numbers out of OptionValues; throw std::invalid_argument naming the option.
int64_t option_integer(const OptionValues& values, const std::string& name);
double option_real(const OptionValues& values, const std::string& name);
const std::string& option_text(const OptionValues& values, const std::string& name);

// Checks `text` against `spec` (kind, range, choices); returns "" when it
// fits, else why not, in command-line terms ("--hidden must be in [1, 8192], got 0").
std::string check_option(const OptionSpec& spec, const std::string& text);

// What a training or evaluation run asks of a family.
struct RunRequest {
  OptionValues options;  // the family's own, defaults filled in
  std::string train_path, valid_path;
  int64_t batch_size = 32;
  uint64_t seed = 1;  // data order, initialisation and dropout
  MatmulPrecision precision = MatmulPrecision::F32;
};

// A model described before it allocates anything: the trainer checks the
// memory its parameters need, then builds it.
struct ModelBlueprint {
  std::vector<std::pair<std::string, Shape>> parameter_shapes;  // empty: not known in advance
  std::function<std::unique_ptr<Model>()> build;
};

struct ModelFamily {
  std::string default_train, default_valid;  // the bundled data it trains on without --train/--valid
  std::string data_help;                     // what a data file holds: "TSV sentence pairs"
  std::vector<OptionSpec> options;
  // A new model for a run (vocabularies from request.train_path).
  std::function<ModelBlueprint(const RunRequest& request)> describe;
  // The model a checkpoint's metadata describes, parameters declared but not
  // loaded. Validates the metadata against the file's tensors before it
  // allocates; throws CheckpointError naming the file.
  std::function<std::unique_ptr<Model>(const std::string& path, const CheckpointInfo& info)> restore;
  // A data file as the model reads it (its vocabulary encodes it); training
  // data is shuffled into epochs by request.seed, other data is served in order.
  std::function<std::unique_ptr<Dataset>(const Model& model, const std::string& path, const RunRequest& request,
                                         bool training)>
      open_data;
};

using ModelRegistry = NamedRegistry<ModelFamily>;
// Empty until the program registers its models (models/register_models.hpp).
ModelRegistry& model_registry();
// Adds a family under `name` unless one is there (register functions may be
// called more than once, by main and by tests).
void register_model_family(const std::string& name, const std::string& help, std::function<ModelFamily()> make);

// The model kind of a checkpoint ("loom.model"; files from before it existed are translators).
std::string checkpoint_model_kind(const CheckpointInfo& info);

struct LoadOptions {
  // Load weights holding NaN or infinity instead of refusing them (to look
  // at a diverged run); the loaded model names them.
  bool allow_nonfinite = false;
};
struct LoadedModel {
  std::unique_ptr<Model> model;
  std::string kind;
  CheckpointInfo info;
  std::vector<std::string> nonfinite_parameters;  // with allow_nonfinite
};
// Any registered model from its checkpoint: kind from the metadata, the
// family rebuilds it, the weights load strictly. Throws CheckpointError.
LoadedModel load_model(const std::string& path, const LoadOptions& options = {});
// Writes the model's weights, config and metadata (io/checkpoint.hpp).
void save_model(const std::string& path, Model& model);

}  // namespace loom::runtime
