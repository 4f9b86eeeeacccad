// Including any ops/ header adds the built-in op families to registry()
// before main runs, so that op_id("tanh") and registry().all() see them in
// every program that uses ops. The registry itself lives in graph/, which
// cannot name the families without depending on this library.
#pragma once

namespace loom::ops {

// Registers the families of ops/families.hpp once; later calls do nothing.
bool register_builtin_ops();

inline const bool builtin_ops_registered = register_builtin_ops();

}  // namespace loom::ops
