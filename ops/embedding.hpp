// Embedding lookup. Its gradient is a scatter-add into the table.
#pragma once
#include "graph/builder.hpp"
#include "ops/builtin_ops.hpp"

namespace loom::ops {

// table: (V, E); ids: any shape of i32 -> ids.shape + (E). An id outside
// [0, V) raises an error at run time naming the node, the id and V.
Var embedding(Var table, Var ids, std::source_location where = std::source_location::current());

}  // namespace loom::ops
