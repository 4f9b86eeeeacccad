// Extensions written outside Loom's core, as a user would write them: an op
// (swish), two attention kinds, an optimiser and a model. Each is added to
// its registry by an explicit call; register_examples() makes them all, and
// the `loom` program and the tests call it (no registration runs before main,
// so nothing depends on how the linker treats an unreferenced object file).
#pragma once

namespace loom::examples {

void register_shared_projection_attention();  // examples/shared_projection_attention.cpp
void register_sign_sgd();                     // examples/sign_sgd_optimizer.cpp
void register_gru_language_model();           // examples/gru_language_model.cpp ("gru-lm")

// Every example above and in swish_op.hpp and tanh_general_attention.hpp (once; later calls do nothing).
void register_examples();

}  // namespace loom::examples
