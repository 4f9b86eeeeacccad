// Softmax and log-softmax over one axis, with an optional mask that
// broadcasts to x (nonzero = keep), e.g. (B,1,S) against scores (B,T,S). Masked positions get probability 0; a row
// with every position masked gives zeros, never NaN.
#pragma once
#include <optional>

#include "graph/builder.hpp"
#include "ops/builtin_ops.hpp"

namespace loom::ops {

Var softmax(Var x, int64_t axis = -1, std::optional<Var> mask = std::nullopt,
            std::source_location where = std::source_location::current());
Var log_softmax(Var x, int64_t axis = -1, std::optional<Var> mask = std::nullopt,
                std::source_location where = std::source_location::current());

}  // namespace loom::ops
