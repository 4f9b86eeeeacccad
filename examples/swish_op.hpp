// A user-defined op from outside the core: swish(x) = x·σ(x). It shows the
// whole path for adding an op without touching Loom's sources: define an
// OpDef, register it with loom::register_op, give it a builder function, and
// gradient-check it (docs/ADDING_AN_OP.md walks through the file).
#pragma once
#include <source_location>

#include "graph/builder.hpp"

namespace loom::examples {

// Registers "swish" in the op registry; calling it again does nothing.
// Returns the op's id.
OpId register_swish();

// x: any shape, f32 or f64 -> same shape. Registers the op if needed.
Var swish(Var x, std::source_location where = std::source_location::current());

}  // namespace loom::examples
