// swish(x) = x·σ(x), registered from outside the core through register_op.
// One file holds everything an op is: the scalar function, the f32/f64
// kernel, the shape rule, the gradient rule (built from existing ops so the
// compiler optimises it like any other graph), and the gradient-check example.
//   d swish / dx = σ(x) + x·σ(x)·(1 − σ(x)) = σ + y·(1 − σ),  with y = x·σ(x)
#include "examples/swish_op.hpp"

#include <algorithm>
#include <cmath>

#include "graph/errors.hpp"
#include "graph/op_example.hpp"
#include "graph/vjp.hpp"
#include "ops/elementwise.hpp"

namespace loom::examples {
namespace {

template <class T>
T swish_scalar(T x) {
  return x / (T(1) + std::exp(-x));
}

// The block function: the kernel applies it over blocks, and the elementwise
// fusion pass can chain it with its neighbours.
template <class T>
void swish_block(const T* x, const T*, T* y, int64_t n, const Attrs&) {
  for (int64_t i = 0; i < n; ++i) y[i] = swish_scalar(x[i]);
}

// x: (any)  y: same shape. No allocation; parallel only when it pays.
template <class T>
void swish_forward_typed(const KernelCtx& c) {
  constexpr int64_t kBlock = 256;
  const T* x = c.in[0].ptr<T>();
  T* y = c.out[0].ptr<T>();
  int64_t n = c.out[0].numel();
#pragma omp parallel for schedule(static) if (n >= (1 << 15))
  for (int64_t i = 0; i < n; i += kBlock) swish_block<T>(x + i, nullptr, y + i, std::min(kBlock, n - i), c.attrs);
}

void swish_forward(const KernelCtx& c) {
  switch (c.out[0].dtype()) {
    case DType::F32: swish_forward_typed<float>(c); return;
    case DType::F64: swish_forward_typed<double>(c); return;
    default: break;  // the shape rule admits only f32 and f64
  }
}

std::vector<TensorType> infer_swish(std::span<const TensorType> in, const Attrs&) {
  if (in[0].dtype != DType::F32 && in[0].dtype != DType::F64)
    throw ShapeError("swish needs an f32 or f64 input, got " + in[0].str());
  return {in[0]};
}

// dx = dy·(σ + y·(1 − σ)), built from registered ops.
void vjp_swish(VjpCtx& c) {
  Var s = ops::sigmoid(c.in(0));
  Var y = c.out();
  c.set(0, c.dout() * (s + y - y * s));
}

// Inputs span both sides of 0, where swish bends.
void example_swish(OpExample& ex) {
  Var x = ex.random_input("x", {4, 6}, -3.0, 3.0);
  ex.outputs = {swish(x)};
}

}  // namespace

OpId register_swish() {
  if (registry().contains("swish")) return op_id("swish");
  OpDef d;
  d.name = "swish";
  d.arity = 1;
  d.flags = kElementwise | kInplaceOk;
  d.infer = infer_swish;
  d.forward = swish_forward;
  d.vjp = vjp_swish;
  d.example = example_swish;
  d.block_f32 = swish_block<float>;
  d.block_f64 = swish_block<double>;
  return register_op(std::move(d));
}

Var swish(Var x, std::source_location where) {
  static const OpId id = register_swish();
  return apply(id, {x}, {}, {}, where);
}

}  // namespace loom::examples
