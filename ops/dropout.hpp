// Inverted dropout: zero each element with probability p, scale the rest by
// 1/(1-p). The mask is a pure function of (seed, run index, element index),
// so results do not depend on the thread count. p = 0 is the identity.
#pragma once
#include "graph/builder.hpp"
#include "ops/builtin_ops.hpp"

namespace loom::ops {

Var dropout(Var x, double p, uint64_t seed, std::source_location where = std::source_location::current());

}  // namespace loom::ops
