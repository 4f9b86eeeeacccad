#include "tests/support/model_options.hpp"

#include <stdexcept>

#include "examples/register_examples.hpp"
#include "models/register_models.hpp"

namespace loom::testing_support {

runtime::OptionValues model_options(const std::string& kind, const runtime::OptionValues& overrides) {
  models::register_builtin_models();
  examples::register_examples();
  runtime::OptionValues values;
  const runtime::ModelFamily family = runtime::model_registry().make(kind);
  for (const runtime::OptionSpec& spec : family.options) values[spec.name] = spec.default_value;
  for (const auto& [name, value] : overrides) {
    if (!values.count(name)) throw std::invalid_argument("test: model '" + kind + "' has no option --" + name);
    values[name] = value;
  }
  return values;
}

}  // namespace loom::testing_support
