// The models that come with Loom, added to runtime::model_registry() by one
// explicit call from the program's main (and from tests). A model from
// outside the library registers itself the same way, by its own call
// (examples/gru_lm.hpp).
#pragma once

namespace loom::models {

void register_builtin_models();

}  // namespace loom::models
