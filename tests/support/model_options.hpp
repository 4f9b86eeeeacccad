// A registered model's options for tests that call the trainer directly:
// every option at its default, with `overrides` on top (as a command line
// would set them). Registers the built-in models and the examples first.
#pragma once
#include <string>

#include "runtime/model_family.hpp"

namespace loom::testing_support {

runtime::OptionValues model_options(const std::string& kind, const runtime::OptionValues& overrides = {});

}  // namespace loom::testing_support
