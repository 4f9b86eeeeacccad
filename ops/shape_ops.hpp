// Ops that move data without arithmetic: reshape, transpose/permute, slice,
// concat, and selection (where, masked_fill).
#pragma once
#include "graph/builder.hpp"
#include "ops/builtin_ops.hpp"

namespace loom::ops {

// Same number of elements; one dim may be -1 (inferred).
Var reshape(Var x, std::vector<int64_t> shape, std::source_location where = std::source_location::current());
// out.dim(i) = x.dim(perm[i]).
Var permute(Var x, std::vector<int64_t> perm, std::source_location where = std::source_location::current());
// Swaps two axes.
Var transpose(Var x, int64_t axis0 = -2, int64_t axis1 = -1,
              std::source_location where = std::source_location::current());
// x[..., begin:end, ...] along one axis.
Var slice(Var x, int64_t axis, int64_t begin, int64_t end,
          std::source_location where = std::source_location::current());
// Joins along an axis; all other dims equal.
Var concat(const std::vector<Var>& xs, int64_t axis, std::source_location where = std::source_location::current());
// cond (same shape as a and b, any dtype; nonzero = true) ? a : b.
Var where(Var cond, Var a, Var b, std::source_location where = std::source_location::current());
// x where mask == 0, value where mask != 0; mask broadcasts to x.
Var masked_fill(Var x, Var mask, double value, std::source_location where = std::source_location::current());
// Converts dtype (for example i32 mask to f32).
Var cast(Var x, DType dtype, std::source_location where = std::source_location::current());

}  // namespace loom::ops
