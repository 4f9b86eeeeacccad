// Small helpers shared by op definitions: dtype dispatch, common shape rules,
// OpenMP grain control. Op files include this; nothing outside ops/ should.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "graph/errors.hpp"
#include "graph/op_def.hpp"
#include "ops/builtin_ops.hpp"

namespace loom::opu {

// Calls f.template operator()<T>() with T = float or double for x's dtype.
template <class F>
void dispatch_float(DType t, F&& f) {
  switch (t) {
    case DType::F32: f.template operator()<float>(); return;
    case DType::F64: f.template operator()<double>(); return;
    default: throw ShapeError("expected a floating dtype (f32 or f64), got " + std::string(dtype_name(t)));
  }
}

// The one way ops/ fills an OpDef. An op's shape rule and kernels:
struct OpKernels {
  InferFn infer = nullptr;
  KernelFn forward = nullptr;
  PrepareFn prepare = nullptr;  // optional
};
// A differentiable op: its gradient rule and gradient-check example.
OpDef differentiable_op(const char* name, int arity, uint32_t flags, OpKernels kernels, VjpFn vjp,
                        void (*example)(OpExample&));
// An op without a gradient rule (kNonDifferentiable is added), saying why.
OpDef gradient_free_op(const char* name, int arity, uint32_t flags, OpKernels kernels, std::string why_no_grad);

// Throws ShapeError unless t is f32 or f64.
void require_float(const TensorType& t, const char* what);
// Throws ShapeError unless a and b share a dtype.
void require_same_dtype(const TensorType& a, const TensorType& b);
// NumPy broadcasting of two shapes; throws ShapeError naming both.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// Work below this many elements runs on one thread: a team costs more.
constexpr int64_t kParallelGrain = 1 << 15;
inline bool worth_parallel(int64_t work) { return work >= kParallelGrain; }

// Element strides of `from` broadcast to `to` (0 along stretched axes), padded
// on the left to to.rank().
std::array<int64_t, kMaxRank> broadcast_strides(const Shape& from, const Shape& to);

}  // namespace loom::opu
