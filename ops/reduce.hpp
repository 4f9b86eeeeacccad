// Reductions over a list of axes (negative axes count from the end).
// keepdims keeps reduced axes as size 1. An empty axis list reduces all axes.
#pragma once
#include "graph/builder.hpp"
#include "ops/builtin_ops.hpp"

namespace loom::ops {

Var sum(Var x, std::vector<int64_t> axes = {}, bool keepdims = false,
        std::source_location where = std::source_location::current());
Var mean(Var x, std::vector<int64_t> axes = {}, bool keepdims = false,
         std::source_location where = std::source_location::current());
Var max(Var x, std::vector<int64_t> axes = {}, bool keepdims = false,
        std::source_location where = std::source_location::current());
// Repeats x along axes of size 1 (or missing leading axes) to reach `shape`.
Var broadcast_to(Var x, Shape shape, std::source_location where = std::source_location::current());

}  // namespace loom::ops
