// Elementwise ops: add sub mul div (broadcasting), neg exp log sqrt sigmoid
// tanh relu, relu_grad (relu's backward), and fill (a constant generator).
// Each op is a functor with f(); kernels apply it over blocks so that the
// fusion pass can chain the same block functions (ops/fused_elementwise.cpp).
#include "ops/elementwise.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "graph/op_example.hpp"
#include "graph/vjp.hpp"
#include "ops/families.hpp"
#include "ops/op_util.hpp"
#include "ops/vmath.hpp"

namespace loom {
namespace {

// ---- scalar functions --------------------------------------------------------
struct Add { template <class T> static T f(T a, T b) { return a + b; } };
struct Sub { template <class T> static T f(T a, T b) { return a - b; } };
struct Mul { template <class T> static T f(T a, T b) { return a * b; } };
struct Div { template <class T> static T f(T a, T b) { return a / b; } };
struct ReluGrad { template <class T> static T f(T dy, T x) { return x > T(0) ? dy : T(0); } };
struct Neg { template <class T> static T f(T x) { return -x; } };
// Transcendentals: f32 blocks go through ops/vmath.hpp (vectorised); f() in
// f64 stays on std:: for the gradient checks.
struct Exp {
  template <class T> static T f(T x) { return std::exp(x); }
  static void f32_array(const float* x, float* y, int64_t n) { vmath::exp(x, y, n); }
};
struct Log {
  template <class T> static T f(T x) { return std::log(x); }
  static void f32_array(const float* x, float* y, int64_t n) { vmath::log(x, y, n); }
};
struct Sqrt { template <class T> static T f(T x) { return std::sqrt(x); } };
struct Sigmoid {
  template <class T> static T f(T x) { return T(1) / (T(1) + std::exp(-x)); }
  static void f32_array(const float* x, float* y, int64_t n) { vmath::sigmoid(x, y, n); }
};
struct Tanh {
  template <class T> static T f(T x) { return std::tanh(x); }
  static void f32_array(const float* x, float* y, int64_t n) { vmath::tanh(x, y, n); }
};
struct Relu { template <class T> static T f(T x) { return x > T(0) ? x : T(0); } };

template <class Op, class T>
void binary_block(const T* a, const T* b, T* out, int64_t n, const Attrs&) {
  for (int64_t i = 0; i < n; ++i) out[i] = Op::f(a[i], b[i]);
}
template <class Op, class T>
void unary_block(const T* a, const T*, T* out, int64_t n, const Attrs&) {
  if constexpr (std::is_same_v<T, float> && requires { Op::f32_array; }) Op::f32_array(a, out, n);
  else
    for (int64_t i = 0; i < n; ++i) out[i] = Op::f(a[i]);
}

// ---- kernels -------------------------------------------------------------------
constexpr int64_t kBlock = 256;

template <class Op, class T>
void unary_forward_typed(const KernelCtx& c) {
  const T* x = c.in[0].ptr<T>();
  T* y = c.out[0].ptr<T>();
  int64_t n = c.out[0].numel();
#pragma omp parallel for schedule(static) if (opu::worth_parallel(n))
  for (int64_t i = 0; i < n; i += kBlock) unary_block<Op, T>(x + i, nullptr, y + i, std::min(kBlock, n - i), c.attrs);
}

// One output row of a broadcast binary op: a/b advance by stride 0 or 1.
template <class Op, class T>
void binary_row(const T* a, int64_t sa, const T* b, int64_t sb, T* y, int64_t len, const Attrs& attrs) {
  T ta[kBlock], tb[kBlock];
  for (int64_t j = 0; j < len; j += kBlock) {
    int64_t m = std::min(kBlock, len - j);
    const T* pa = sa ? a + j : (std::fill_n(ta, m, a[0]), ta);
    const T* pb = sb ? b + j : (std::fill_n(tb, m, b[0]), tb);
    binary_block<Op, T>(pa, pb, y + j, m, attrs);
  }
}

template <class Op, class T>
void binary_forward_typed(const KernelCtx& c) {
  const TensorRef &A = c.in[0], &B = c.in[1], &Y = c.out[0];
  const T *a = A.ptr<T>(), *b = B.ptr<T>();
  T* y = Y.ptr<T>();
  int64_t n = Y.numel();
  if (A.numel() == n && B.numel() == n) {
#pragma omp parallel for schedule(static) if (opu::worth_parallel(n))
    for (int64_t i = 0; i < n; i += kBlock) binary_block<Op, T>(a + i, b + i, y + i, std::min(kBlock, n - i), c.attrs);
    return;
  }
  const Shape& ys = Y.shape();
  int rank = ys.rank();
  int64_t inner = rank ? ys[rank - 1] : 1, rows = inner ? n / inner : 0;
  std::array<int64_t, kMaxRank> sa = opu::broadcast_strides(A.shape(), ys), sb = opu::broadcast_strides(B.shape(), ys);
  int64_t ia = rank ? sa[size_t(rank - 1)] : 1, ib = rank ? sb[size_t(rank - 1)] : 1;
#pragma omp parallel for schedule(static) if (opu::worth_parallel(n))
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, oa = 0, ob = 0;
    for (int d = rank - 2; d >= 0; --d) {
      int64_t idx = rem % ys[d];
      rem /= ys[d];
      oa += idx * sa[size_t(d)];
      ob += idx * sb[size_t(d)];
    }
    binary_row<Op, T>(a + oa, ia, b + ob, ib, y + r * inner, inner, c.attrs);
  }
}

template <class Op>
void unary_forward(const KernelCtx& c) {
  opu::dispatch_float(c.out[0].dtype(), [&]<class T>() { unary_forward_typed<Op, T>(c); });
}
template <class Op>
void binary_forward(const KernelCtx& c) {
  opu::dispatch_float(c.out[0].dtype(), [&]<class T>() { binary_forward_typed<Op, T>(c); });
}

void fill_forward(const KernelCtx& c) {
  double v = c.attrs.get_float("value");
  opu::dispatch_float(c.out[0].dtype(), [&]<class T>() { std::fill_n(c.out[0].ptr<T>(), c.out[0].numel(), T(v)); });
}

// ---- shape rules -----------------------------------------------------------------
std::vector<TensorType> infer_unary(std::span<const TensorType> in, const Attrs&) {
  opu::require_float(in[0], "the input");
  return {in[0]};
}
std::vector<TensorType> infer_binary(std::span<const TensorType> in, const Attrs&) {
  opu::require_float(in[0], "the left operand");
  opu::require_same_dtype(in[0], in[1]);
  return {{in[0].dtype, opu::broadcast_shapes(in[0].shape, in[1].shape)}};
}
std::vector<TensorType> infer_fill(std::span<const TensorType>, const Attrs& a) {
  return {{DType(a.get_int("dtype")), Shape(std::span<const int64_t>(a.get_ints("shape")))}};
}

// ---- gradient rules (adjoints may be broadcast-shaped; autograd reduces them) ----
void vjp_add(VjpCtx& c) {
  if (c.needs(0)) c.set(0, c.dout());
  if (c.needs(1)) c.set(1, c.dout());
}
void vjp_sub(VjpCtx& c) {
  if (c.needs(0)) c.set(0, c.dout());
  if (c.needs(1)) c.set(1, -c.dout());
}
void vjp_mul(VjpCtx& c) {
  if (c.needs(0)) c.set(0, c.dout() * c.in(1));
  if (c.needs(1)) c.set(1, c.dout() * c.in(0));
}
void vjp_div(VjpCtx& c) {  // y = a/b: da = dy/b, db = -dy·y/b
  if (c.needs(0)) c.set(0, c.dout() / c.in(1));
  if (c.needs(1)) c.set(1, -(c.dout() * c.out() / c.in(1)));
}
void vjp_neg(VjpCtx& c) { c.set(0, -c.dout()); }
void vjp_exp(VjpCtx& c) { c.set(0, c.dout() * c.out()); }
void vjp_log(VjpCtx& c) { c.set(0, c.dout() / c.in(0)); }
void vjp_sqrt(VjpCtx& c) { c.set(0, c.dout() * 0.5 / c.out()); }
void vjp_sigmoid(VjpCtx& c) {  // σ' = σ(1-σ)
  Var y = c.out();
  c.set(0, c.dout() * (y - y * y));
}
void vjp_tanh(VjpCtx& c) {  // tanh' = 1 - y²
  Var y = c.out();
  c.set(0, c.dout() - c.dout() * y * y);
}
Var relu_grad(Var dy, Var x);
void vjp_relu(VjpCtx& c) { c.set(0, relu_grad(c.dout(), c.in(0))); }
void vjp_relu_grad(VjpCtx& c) {  // linear in dy; piecewise constant in x
  if (c.needs(0)) c.set(0, relu_grad(c.dout(), c.in(1)));
  if (c.needs(1)) c.set(1, ops::zeros_like(c.in(1)));
}

// ---- gradient-check examples ---------------------------------------------------------
// Inputs drawn from [lo, hi], where the op is smooth.
void example_unary(OpExample& ex, const char* op, double lo, double hi) {
  Var x = ex.random_input("x", {3, 5}, lo, hi);
  ex.outputs = {apply(op_id(op), {x})};
}
void example_binary(OpExample& ex, const char* op, double lo, double hi) {
  Var a = ex.random_input("a", {3, 4}, -1.0, 1.0);
  Var b = ex.random_input("b", {4}, lo, hi);  // broadcast along rows
  Var c = ex.random_input("c", {3, 4}, lo, hi);
  ex.outputs = {apply(op_id(op), {a, b}), apply(op_id(op), {a, c})};
}
// Away from the kink at 0, where finite differences are meaningless.
void example_relu(OpExample& ex, const char* op) {
  Var x = ex.random_input("x", {3, 5}, 0.1, 1.0);
  Tensor& t = ex.feeds.back().second;
  for (int64_t i = 0; i < t.numel(); i += 2) t.set(i, -t.at(i));
  ex.outputs = {apply(op_id(op), {x})};
}

template <class Op>
OpDef unary(const char* name, VjpFn vjp, void (*example)(OpExample&)) {
  OpDef d = opu::differentiable_op(name, 1, kElementwise | kInplaceOk, {infer_unary, unary_forward<Op>}, vjp, example);
  d.block_f32 = unary_block<Op, float>;
  d.block_f64 = unary_block<Op, double>;
  return d;
}

template <class Op>
OpDef binary(const char* name, VjpFn vjp, void (*example)(OpExample&)) {
  OpDef d = opu::differentiable_op(name, 2, kElementwise | kInplaceOk, {infer_binary, binary_forward<Op>}, vjp, example);
  d.block_f32 = binary_block<Op, float>;
  d.block_f64 = binary_block<Op, double>;
  return d;
}

Var relu_grad(Var dy, Var x) {
  static const OpId id = op_id("relu_grad");
  return apply(id, {dy, x});
}

}  // namespace

void register_elementwise_ops(Registry& r) {
  r.add(binary<Add>("add", vjp_add, [](OpExample& e) { example_binary(e, "add", -1.0, 1.0); }));
  r.add(binary<Sub>("sub", vjp_sub, [](OpExample& e) { example_binary(e, "sub", -1.0, 1.0); }));
  r.add(binary<Mul>("mul", vjp_mul, [](OpExample& e) { example_binary(e, "mul", -1.0, 1.0); }));
  r.add(binary<Div>("div", vjp_div, [](OpExample& e) { example_binary(e, "div", 0.5, 2.0); }));
  r.add(binary<ReluGrad>("relu_grad", vjp_relu_grad, [](OpExample& e) {
    Var dy = e.random_input("dy", {3, 5});
    Var x = e.fixed_input("x", Tensor::from_f64({3, 5}, std::vector<double>{1, -1, 2, -2, 3, -3, .5, -.5, 1, -1, 2, -2, 3, -3, .5}));
    e.outputs = {relu_grad(dy, x)};
  }));
  r.add(unary<Neg>("neg", vjp_neg, [](OpExample& e) { example_unary(e, "neg", -1.0, 1.0); }));
  r.add(unary<Exp>("exp", vjp_exp, [](OpExample& e) { example_unary(e, "exp", -1.0, 1.0); }));
  r.add(unary<Log>("log", vjp_log, [](OpExample& e) { example_unary(e, "log", 0.5, 2.0); }));
  r.add(unary<Sqrt>("sqrt", vjp_sqrt, [](OpExample& e) { example_unary(e, "sqrt", 0.5, 2.0); }));
  r.add(unary<Sigmoid>("sigmoid", vjp_sigmoid, [](OpExample& e) { example_unary(e, "sigmoid", -2.0, 2.0); }));
  r.add(unary<Tanh>("tanh", vjp_tanh, [](OpExample& e) { example_unary(e, "tanh", -2.0, 2.0); }));
  r.add(unary<Relu>("relu", vjp_relu, [](OpExample& e) { example_relu(e, "relu"); }));

  r.add(opu::gradient_free_op("fill", 0, kNoFlags, {infer_fill, fill_forward}, "a constant generator with no inputs"));
}

namespace ops {

#define LOOM_BINARY(fn, opname)                                  \
  Var fn(Var a, Var b, std::source_location where) {             \
    static const OpId id = op_id(opname);                        \
    return apply(id, {a, b}, {}, {}, where);                     \
  }
#define LOOM_UNARY(fn, opname)                                   \
  Var fn(Var x, std::source_location where) {                    \
    static const OpId id = op_id(opname);                        \
    return apply(id, {x}, {}, {}, where);                        \
  }
LOOM_BINARY(add, "add")
LOOM_BINARY(sub, "sub")
LOOM_BINARY(mul, "mul")
LOOM_BINARY(div, "div")
LOOM_UNARY(neg, "neg")
LOOM_UNARY(exp, "exp")
LOOM_UNARY(log, "log")
LOOM_UNARY(sqrt, "sqrt")
LOOM_UNARY(sigmoid, "sigmoid")
LOOM_UNARY(tanh, "tanh")
LOOM_UNARY(relu, "relu")
#undef LOOM_BINARY
#undef LOOM_UNARY

Var fill(Graph& g, TensorType type, double value, std::source_location where) {
  static const OpId id = op_id("fill");
  std::vector<int64_t> dims(type.shape.dims().begin(), type.shape.dims().end());
  Attrs a{{"value", value}, {"shape", dims}, {"dtype", int64_t(type.dtype)}};
  return {&g, {g.add(id, {}, std::move(a), {}, where), 0}};
}

Var zeros_like(Var x) { return fill(*x.graph, x.type(), 0.0); }

}  // namespace ops
}  // namespace loom
