// Matrix products; f32 runs through oneDNN primitives created at plan time,
// f64 (gradient checks only) through a reference loop.
#pragma once
#include "graph/builder.hpp"
#include "ops/builtin_ops.hpp"

namespace loom::ops {

// a: (M,K) or (K,M) if transpose_a; b: (K,N) or (N,K) if transpose_b -> (M,N).
// Rank-3 inputs (B,M,K) x (B,K,N) -> (B,M,N) are a batched product.
Var matmul(Var a, Var b, bool transpose_a = false, bool transpose_b = false,
           std::source_location where = std::source_location::current());
// x: (..., In)  weight: (Out, In)  bias: (Out) -> (..., Out); x may have rank 2 or 3.
Var linear(Var x, Var weight, Var bias, std::source_location where = std::source_location::current());

}  // namespace loom::ops
