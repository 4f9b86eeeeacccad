// Cross-entropy from logits, fused with log-softmax.
#pragma once
#include "graph/builder.hpp"
#include "ops/builtin_ops.hpp"

namespace loom::ops {

// logits: (N, C) f32/f64; targets: (N) i32. Returns the mean over targets that
// are not ignore_index of  -(1-ls) log p[t] - ls/C * sum_c log p[c]  (ls =
// label_smoothing); a scalar. With no counted target the result is 0.
Var cross_entropy(Var logits, Var targets, int64_t ignore_index = -100, double label_smoothing = 0.0,
                  std::source_location where = std::source_location::current());

}  // namespace loom::ops
