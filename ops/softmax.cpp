// Softmax and log-softmax over one axis with an optional mask, and their
// companion backward ops softmax_grad and log_softmax_grad.
// Layout: x is viewed as (outer, len, inner) around the axis; one "row" is the
// len elements at a fixed (outer, inner), stride inner apart.
// The mask (f32/f64/i32, nonzero = keep) broadcasts to x, e.g. an attention
// mask (B,1,S) against scores (B,T,S). Masked positions output 0 in both ops
// (log_softmax too: a finite 0, never -inf, so no NaN reaches a gradient), and
// a row with nothing kept is all zeros. Masks get no gradient.
#include "ops/softmax.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "graph/op_example.hpp"
#include "graph/vjp.hpp"
#include "ops/elementwise.hpp"
#include "ops/families.hpp"
#include "ops/op_util.hpp"
#include "ops/reduce.hpp"
#include "ops/vmath.hpp"

namespace loom {
namespace {

// ---- layout and mask addressing (fixed arrays: kernels do not allocate) ------
struct RowLayout {
  int axis = 0;
  int64_t outer = 1, len = 1, inner = 1;
};

RowLayout row_layout(const Shape& s, int64_t axis) {
  RowLayout L;
  L.axis = s.normalize_axis(int(axis));
  for (int d = 0; d < L.axis; ++d) L.outer *= s[d];
  L.len = s[L.axis];
  for (int d = L.axis + 1; d < s.rank(); ++d) L.inner *= s[d];
  return L;
}

// Maps a flat index of x to the broadcast mask's element offset.
struct MaskView {
  const void* data = nullptr;
  int rank = 0;
  std::array<int64_t, kMaxRank> xdims{}, stride{};
  int64_t step = 0;  // mask stride along the softmax axis

  int64_t offset(int64_t flat) const {
    int64_t off = 0;
    for (int d = rank - 1; d >= 0; --d) {
      off += (flat % xdims[size_t(d)]) * stride[size_t(d)];
      flat /= xdims[size_t(d)];
    }
    return off;
  }
};

MaskView mask_view(const TensorRef* mask, const Shape& xs, int axis) {
  MaskView v;
  if (!mask) return v;
  v.data = mask->data;
  v.rank = xs.rank();
  const Shape& ms = mask->shape();
  int lead = xs.rank() - ms.rank();
  int64_t s = 1;
  for (int d = xs.rank() - 1; d >= 0; --d) {
    v.xdims[size_t(d)] = xs[d];
    int md = d - lead;
    v.stride[size_t(d)] = (md < 0 || ms[md] == 1) ? 0 : s;
    if (md >= 0) s *= ms[md];
  }
  v.step = v.stride[size_t(axis)];
  return v;
}

struct NoMask {};

template <class M>
struct MaskRow {
  const M* p;
  int64_t step;
  bool keep(int64_t a) const { return p[a * step] != M(0); }
};
template <>
struct MaskRow<NoMask> {
  bool keep(int64_t) const { return true; }
};

// Calls f.template operator()<M>() with M the mask's element type (NoMask if absent).
template <class F>
void dispatch_mask(const TensorRef* mask, F&& f) {
  if (!mask) return f.template operator()<NoMask>();
  switch (mask->dtype()) {
    case DType::F32: return f.template operator()<float>();
    case DType::F64: return f.template operator()<double>();
    case DType::I32: return f.template operator()<int32_t>();
  }
}

// Runs row_fn(base, len, stride, mask_row) for every row, in parallel.
template <class F>
void for_each_row(const KernelCtx& c, const TensorRef* mask, F&& row_fn) {
  const Shape& xs = c.out[0].shape();
  RowLayout L = row_layout(xs, c.attrs.get_int("axis"));
  MaskView mv = mask_view(mask, xs, L.axis);
  int64_t rows = L.outer * L.inner;
  dispatch_mask(mask, [&]<class M>() {
#pragma omp parallel for schedule(static) if (opu::worth_parallel(xs.numel()))
    for (int64_t r = 0; r < rows; ++r) {
      int64_t base = (r / L.inner) * L.len * L.inner + r % L.inner;
      if constexpr (std::is_same_v<M, NoMask>) {
        row_fn(base, L.len, L.inner, MaskRow<NoMask>{});
      } else {
        row_fn(base, L.len, L.inner, MaskRow<M>{static_cast<const M*>(mv.data) + mv.offset(base), mv.step});
      }
    }
  });
}

const TensorRef* optional_input(const KernelCtx& c, size_t i) { return c.in.size() > i ? &c.in[i] : nullptr; }

// ---- forward kernels ------------------------------------------------------------
constexpr int64_t kExpBlock = 256;

// Gathers the shifted kept values of a row chunk (masked ones as -inf) and
// exponentiates them together, so that f32 runs the vectorised exp.
template <class T, class Mask>
void exp_shifted_chunk(const T* x, int64_t a0, int64_t n, int64_t s, T shift, const Mask& m, T* out) {
  for (int64_t j = 0; j < n; ++j)
    out[j] = m.keep(a0 + j) ? x[(a0 + j) * s] - shift : -std::numeric_limits<T>::infinity();
  vmath::exp(out, out, n);
}

// y = exp(x - max) / Σ exp(x - max) over kept positions; log: y = x - max - log Σ.
// Reads each x[a] before writing y[a], so y may alias x.
template <class T, bool kLog, class Mask>
void softmax_row(const T* x, T* y, int64_t len, int64_t s, const Mask& m) {
  const T neg_inf = -std::numeric_limits<T>::infinity();
  T mx = neg_inf;
  for (int64_t a = 0; a < len; ++a)
    if (m.keep(a)) mx = std::max(mx, x[a * s]);
  if (mx == neg_inf) {  // nothing kept (or every kept logit is -inf): zeros, not NaN
    for (int64_t a = 0; a < len; ++a) y[a * s] = T(0);
    return;
  }
  T sum = 0;
  alignas(64) T e[kExpBlock];
  for (int64_t a0 = 0; a0 < len; a0 += kExpBlock) {
    const int64_t n = std::min(kExpBlock, len - a0);
    exp_shifted_chunk(x, a0, n, s, mx, m, e);
    for (int64_t j = 0; j < n; ++j) sum += e[j];
    if constexpr (!kLog)
      for (int64_t j = 0; j < n; ++j) y[(a0 + j) * s] = e[j];
  }
  if constexpr (kLog) {
    T lse = mx + std::log(sum);
    for (int64_t a = 0; a < len; ++a) y[a * s] = m.keep(a) ? x[a * s] - lse : T(0);
  } else {
    T inv = T(1) / sum;
    for (int64_t a = 0; a < len; ++a) y[a * s] *= inv;
  }
}

// x: any shape  mask: broadcasts to x  out: x's shape
template <bool kLog>
void softmax_forward(const KernelCtx& c) {
  opu::dispatch_float(c.out[0].dtype(), [&]<class T>() {
    const T* x = c.in[0].ptr<T>();
    T* y = c.out[0].ptr<T>();
    for_each_row(c, optional_input(c, 1), [&](int64_t base, int64_t len, int64_t s, const auto& m) {
      softmax_row<T, kLog>(x + base, y + base, len, s, m);
    });
  });
}

// dx = y ⊙ (dy − Σ dy⊙y): from dx_i = Σ_k dy_k ∂y_k/∂x_i and ∂y_k/∂x_i = y_k(δ_ki − y_i).
// Masked positions have y = 0, so they get dx = 0 without seeing the mask.
// y: any  dy: y's shape  dx: y's shape (may alias y)
void softmax_grad_forward(const KernelCtx& c) {
  opu::dispatch_float(c.out[0].dtype(), [&]<class T>() {
    const T *y = c.in[0].ptr<T>(), *dy = c.in[1].ptr<T>();
    T* dx = c.out[0].ptr<T>();
    for_each_row(c, nullptr, [&](int64_t base, int64_t len, int64_t s, const auto&) {
      T dot = 0;
      for (int64_t a = 0; a < len; ++a) dot += dy[base + a * s] * y[base + a * s];
      for (int64_t a = 0; a < len; ++a) dx[base + a * s] = y[base + a * s] * (dy[base + a * s] - dot);
    });
  });
}

// y = x − lse over kept positions, so ∂y_k/∂x_i = δ_ki − p_i with p = exp(y):
// dx = dy − p Σ dy, sums over kept positions; masked positions get dx = 0.
// y: any  dy: y's shape  mask: broadcasts to y  dx: y's shape (may alias y)
void log_softmax_grad_forward(const KernelCtx& c) {
  opu::dispatch_float(c.out[0].dtype(), [&]<class T>() {
    const T *y = c.in[0].ptr<T>(), *dy = c.in[1].ptr<T>();
    T* dx = c.out[0].ptr<T>();
    for_each_row(c, optional_input(c, 2), [&](int64_t base, int64_t len, int64_t s, const auto& m) {
      T total = 0;
      for (int64_t a = 0; a < len; ++a)
        if (m.keep(a)) total += dy[base + a * s];
      alignas(64) T p[kExpBlock];
      for (int64_t a0 = 0; a0 < len; a0 += kExpBlock) {
        const int64_t n = std::min(kExpBlock, len - a0);
        exp_shifted_chunk(y + base, a0, n, s, T(0), m, p);
        for (int64_t j = 0; j < n; ++j) {
          int64_t i = base + (a0 + j) * s;
          dx[i] = m.keep(a0 + j) ? dy[i] - p[j] * total : T(0);
        }
      }
    });
  });
}

// ---- shape rules ------------------------------------------------------------------
void require_mask_broadcasts(const TensorType& mask, const TensorType& x) {
  const Shape &ms = mask.shape, &xs = x.shape;
  bool ok = ms.rank() <= xs.rank();
  for (int d = 0; ok && d < ms.rank(); ++d) {
    int64_t md = ms[d], xd = xs[d + xs.rank() - ms.rank()];
    ok = md == xd || md == 1;
  }
  if (!ok)
    throw ShapeError("the mask " + mask.str() + " must broadcast to x " + x.str() +
                     " (aligned from the right, each mask dim equal to x's or 1)");
}

std::vector<TensorType> infer_softmax(std::span<const TensorType> in, const Attrs& a) {
  if (in.size() != 1 && in.size() != 2) throw ShapeError("softmax takes x and an optional mask");
  opu::require_float(in[0], "x");
  in[0].shape.normalize_axis(int(a.get_int("axis")));
  if (in.size() == 2) require_mask_broadcasts(in[1], in[0]);
  return {in[0]};
}

// (y, dy) for softmax_grad; (y, dy[, mask]) for log_softmax_grad.
std::vector<TensorType> infer_grad(std::span<const TensorType> in, const Attrs& a, bool takes_mask) {
  size_t most = takes_mask ? 3 : 2;
  if (in.size() < 2 || in.size() > most)
    throw ShapeError(takes_mask ? "expected inputs (y, dy[, mask])" : "expected inputs (y, dy)");
  opu::require_float(in[0], "y");
  if (!(in[0] == in[1])) throw ShapeError("y " + in[0].str() + " and dy " + in[1].str() + " must have the same type");
  in[0].shape.normalize_axis(int(a.get_int("axis")));
  if (in.size() == 3) require_mask_broadcasts(in[2], in[0]);
  return {in[0]};
}
std::vector<TensorType> infer_softmax_grad(std::span<const TensorType> in, const Attrs& a) {
  return infer_grad(in, a, false);
}
std::vector<TensorType> infer_log_softmax_grad(std::span<const TensorType> in, const Attrs& a) {
  return infer_grad(in, a, true);
}

// ---- builders of the companion ops ----------------------------------------------------
Var softmax_grad(Var y, Var dy, int64_t axis) {
  static const OpId id = op_id("softmax_grad");
  return apply(id, {y, dy}, {{"axis", axis}});
}

Var log_softmax_grad(Var y, Var dy, std::optional<Var> mask, int64_t axis) {
  static const OpId id = op_id("log_softmax_grad");
  std::vector<Var> in{y, dy};
  if (mask) in.push_back(*mask);
  return apply(id, in, {{"axis", axis}});
}

// ---- gradient rules ----------------------------------------------------------------------
void zero_mask_grad(VjpCtx& c, int mask_input) {
  if (c.num_inputs() > mask_input && c.needs(mask_input)) c.set(mask_input, ops::zeros_like(c.in(mask_input)));
}

void vjp_softmax(VjpCtx& c) {
  if (c.needs(0)) c.set(0, softmax_grad(c.out(), c.dout(), c.attrs().get_int("axis")));
  zero_mask_grad(c, 1);
}

void vjp_log_softmax(VjpCtx& c) {
  std::optional<Var> mask;
  if (c.num_inputs() == 2) mask = c.in(1);
  if (c.needs(0)) c.set(0, log_softmax_grad(c.out(), c.dout(), mask, c.attrs().get_int("axis")));
  zero_mask_grad(c, 1);
}

// Second order, for dx = y⊙(dy − s), s = Σ dy⊙y, with adjoint g of dx:
//   d dy = y⊙(g − Σ g⊙y)          (softmax_grad(y, g) again: the map is symmetric)
//   d y  = g⊙(dy − s) − (Σ g⊙y)⊙dy
void vjp_softmax_grad(VjpCtx& c) {
  int64_t axis = c.attrs().get_int("axis");
  Var y = c.in(0), dy = c.in(1), g = c.dout();
  if (c.needs(1)) c.set(1, softmax_grad(y, g, axis));
  if (c.needs(0)) {
    Var s = ops::sum(dy * y, {axis}, true), t = ops::sum(g * y, {axis}, true);
    c.set(0, g * (dy - s) - t * dy);
  }
}

// ---- gradient-check examples -------------------------------------------------------------
// x (2,3,4); a (2,1,4) i32 mask whose second batch is fully masked, along the
// last axis; an f64 (3,1) mask along axis 1; and the unmasked middle axis.
template <bool kLog>
void example_softmax(OpExample& ex) {
  auto op = [](Var x, int64_t axis, std::optional<Var> mask) {
    return kLog ? ops::log_softmax(x, axis, mask) : ops::softmax(x, axis, mask);
  };
  Var x = ex.random_input("x", {2, 3, 4}, -2.0, 2.0);
  Var attn = ex.fixed_input("attn_mask", Tensor::from_i32({2, 1, 4}, std::vector<int32_t>{1, 0, 1, 1, 0, 0, 0, 0}));
  Var col = ex.fixed_input("col_mask", Tensor::from_f64({3, 1}, std::vector<double>{1, 0, 1}));
  ex.outputs = {op(x, -1, attn), op(x, 1, std::nullopt), op(x, 1, col)};
}

void example_softmax_grad(OpExample& ex) {
  Var y = ex.random_input("y", {3, 4}, 0.0, 1.0);
  Var dy = ex.random_input("dy", {3, 4});
  ex.outputs = {softmax_grad(y, dy, -1), softmax_grad(y, dy, 0)};
}


}  // namespace

void register_softmax_ops(Registry& r) {
  using opu::differentiable_op;
  // softmax and log_softmax take x and an optional mask.
  r.add(differentiable_op("softmax", -1, kInplaceOk, {infer_softmax, softmax_forward<false>}, vjp_softmax,
                          example_softmax<false>));
  r.add(differentiable_op("log_softmax", -1, kInplaceOk, {infer_softmax, softmax_forward<true>}, vjp_log_softmax,
                          example_softmax<true>));
  r.add(differentiable_op("softmax_grad", 2, kInplaceOk, {infer_softmax_grad, softmax_grad_forward}, vjp_softmax_grad,
                          example_softmax_grad));
  // log_softmax_grad takes y, dy and an optional mask.
  r.add(opu::gradient_free_op("log_softmax_grad", -1, kInplaceOk, {infer_log_softmax_grad, log_softmax_grad_forward},
                              "second derivative of log_softmax: training needs only first order, and a masked rule "
                              "would need a mask-to-float cast that this family does not own"));
}

namespace ops {

Var softmax(Var x, int64_t axis, std::optional<Var> mask, std::source_location where) {
  static const OpId id = op_id("softmax");
  std::vector<Var> in{x};
  if (mask) in.push_back(*mask);
  return apply(id, in, {{"axis", axis}}, {}, where);
}

Var log_softmax(Var x, int64_t axis, std::optional<Var> mask, std::source_location where) {
  static const OpId id = op_id("log_softmax");
  std::vector<Var> in{x};
  if (mask) in.push_back(*mask);
  return apply(id, in, {{"axis", axis}}, {}, where);
}

}  // namespace ops
}  // namespace loom
