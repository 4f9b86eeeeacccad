// Reductions over axes (sum, mean, max), max's backward (max_grad), and
// broadcast_to, their adjoint. Shapes: x (d0..dn) -> x with the reduced axes
// removed, or kept as 1 with keepdims; an empty axis list reduces every axis.
// Kernels never allocate: the reduction is described by a ReduceGeom on the
// stack, with adjacent axes of the same kind merged ("coalesced") so that the
// common cases become contiguous rows or row-of-rows loops.
// max ties: the gradient is split equally among all positions equal to the max.
#include "ops/reduce.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "graph/op_example.hpp"
#include "graph/vjp.hpp"
#include "ops/elementwise.hpp"
#include "ops/families.hpp"
#include "ops/op_util.hpp"
#include "ops/shape_ops.hpp"

namespace loom {
namespace {

// ---- geometry ------------------------------------------------------------------------
// mask[i] = axis i is reduced. Throws ShapeError on a bad or repeated axis.
void reduced_mask(const Shape& s, const Attrs& a, bool (&mask)[kMaxRank]) {
  const std::vector<int64_t>& raw = a.get_ints("axes");
  for (int i = 0; i < kMaxRank; ++i) mask[i] = raw.empty() && i < s.rank();
  for (int64_t ax : raw) {
    if (ax < -s.rank() || ax >= s.rank())
      throw ShapeError("reduction axis " + std::to_string(ax) + " is out of range for input shape " + s.str());
    int k = s.normalize_axis(int(ax));
    if (mask[k])
      throw ShapeError("reduction axis " + std::to_string(ax) + " repeats an axis of input shape " + s.str());
    mask[k] = true;
  }
}

Shape reduced_shape(const Shape& s, const Attrs& a) {
  bool mask[kMaxRank];
  reduced_mask(s, a, mask);
  bool keep = a.get_int("keepdims") != 0;
  Shape out;
  for (int i = 0; i < s.rank(); ++i)
    if (!mask[i]) out.push_back(s[i]);
    else if (keep) out.push_back(1);
  return out;
}

// x viewed as coalesced groups of kept (K) or reduced (R) axes. Output element
// o enumerates the K groups row-major, group element g the R groups.
struct ReduceGeom {
  enum Kind { kRows, kMiddle, kGeneric };
  int rank = 0;
  int64_t dim[kMaxRank] = {}, stride[kMaxRank] = {};
  bool reduced[kMaxRank] = {};
  int64_t nout = 1, group = 1;
  Kind kind = kRows;
  int64_t outer = 1, inner = 1;  // kMiddle: x is (outer, group, inner)

  ReduceGeom(const Shape& xs, const Attrs& a) {
    bool mask[kMaxRank];
    reduced_mask(xs, a, mask);
    for (int i = 0; i < xs.rank(); ++i) {
      if (xs[i] == 1) continue;  // a size-1 axis changes no offset
      if (rank > 0 && reduced[rank - 1] == mask[i]) {
        dim[rank - 1] *= xs[i];
      } else {
        dim[rank] = xs[i];
        reduced[rank++] = mask[i];
      }
    }
    int64_t st = 1;
    int nred = 0;
    for (int k = rank - 1; k >= 0; --k) {
      stride[k] = st;
      st *= dim[k];
    }
    for (int k = 0; k < rank; ++k) {
      (reduced[k] ? group : nout) *= dim[k];
      nred += reduced[k];
    }
    if (nred == 0 || (nred == 1 && reduced[rank - 1])) kind = kRows;
    else if (nred == 1 && rank >= 2 && !reduced[rank - 1]) {
      kind = kMiddle;
      inner = dim[rank - 1];
      outer = inner ? nout / inner : 0;
    } else kind = kGeneric;
  }

  // Element offset in x of group element g of output o.
  int64_t x_offset(int64_t o, int64_t g) const {
    if (kind == kRows) return o * group + g;
    if (kind == kMiddle) return ((o / inner) * group + g) * inner + o % inner;
    int64_t off = 0;
    for (int k = rank - 1; k >= 0; --k) {
      int64_t& idx = reduced[k] ? g : o;
      off += (idx % dim[k]) * stride[k];
      idx /= dim[k];
    }
    return off;
  }
};

// ---- reducers ------------------------------------------------------------------------
struct SumR {
  template <class T> static T init() { return T(0); }
  template <class T> static T combine(T a, T b) { return a + b; }
  template <class T> static T finish(T a, int64_t) { return a; }
};
struct MeanR : SumR {
  template <class T> static T finish(T a, int64_t n) { return a / T(n); }
};
struct MaxR {
  template <class T> static T init() { return -std::numeric_limits<T>::infinity(); }
  template <class T> static T combine(T a, T b) { return (b > a || b != b) ? b : a; }  // NaN wins
  template <class T> static T finish(T a, int64_t) { return a; }
};

// ---- kernels -------------------------------------------------------------------------
constexpr int64_t kBlock = 256;
constexpr int kChunks = 64;  // partials of a full reduction: fixed, so results do not depend on threads

// One output: x is one contiguous row of n elements.
template <class R, class T>
T reduce_row(const T* x, int64_t n) {
  if (!opu::worth_parallel(n)) {
    T acc = R::template init<T>();
    for (int64_t j = 0; j < n; ++j) acc = R::combine(acc, x[j]);
    return acc;
  }
  T part[kChunks];
  int64_t len = (n + kChunks - 1) / kChunks;
#pragma omp parallel for schedule(static)
  for (int p = 0; p < kChunks; ++p) {
    T acc = R::template init<T>();
    for (int64_t j = p * len; j < std::min(n, (p + 1) * len); ++j) acc = R::combine(acc, x[j]);
    part[p] = acc;
  }
  T acc = R::template init<T>();
  for (T v : part) acc = R::combine(acc, v);
  return acc;
}

// x: (outer, group, inner)  y: (outer, inner); blocks of inner stay contiguous.
template <class R, class T>
void reduce_middle(const ReduceGeom& g, const T* x, T* y) {
  int64_t nb = (g.inner + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (opu::worth_parallel(g.nout * g.group))
  for (int64_t t = 0; t < g.outer * nb; ++t) {
    int64_t o = t / nb, i0 = (t % nb) * kBlock, len = std::min(kBlock, g.inner - i0);
    T* yr = y + o * g.inner + i0;
    std::fill_n(yr, len, R::template init<T>());
    for (int64_t r = 0; r < g.group; ++r) {
      const T* xr = x + (o * g.group + r) * g.inner + i0;
      for (int64_t j = 0; j < len; ++j) yr[j] = R::combine(yr[j], xr[j]);
    }
    for (int64_t j = 0; j < len; ++j) yr[j] = R::finish(yr[j], g.group);
  }
}

// x: (d0..dn)  y: the kept axes of x, row-major.
template <class R, class T>
void reduce_typed(const KernelCtx& c) {
  ReduceGeom g(c.in[0].shape(), c.attrs);
  const T* x = c.in[0].ptr<T>();
  T* y = c.out[0].ptr<T>();
  if (g.nout == 0) return;
  if (g.group == 0) {  // an empty reduction: sum 0, mean NaN, max -inf
    std::fill_n(y, g.nout, R::finish(R::template init<T>(), 0));
    return;
  }
  if (g.kind == ReduceGeom::kMiddle) return reduce_middle<R, T>(g, x, y);
  if (g.kind == ReduceGeom::kRows && g.nout == 1) {
    y[0] = R::finish(reduce_row<R, T>(x, g.group), g.group);
    return;
  }
#pragma omp parallel for schedule(static) if (opu::worth_parallel(g.nout * g.group))
  for (int64_t o = 0; o < g.nout; ++o) {
    T acc = R::template init<T>();
    if (g.kind == ReduceGeom::kRows)
      for (int64_t j = 0; j < g.group; ++j) acc = R::combine(acc, x[o * g.group + j]);
    else
      for (int64_t j = 0; j < g.group; ++j) acc = R::combine(acc, x[g.x_offset(o, j)]);
    y[o] = R::finish(acc, g.group);
  }
}

template <class R>
void reduce_forward(const KernelCtx& c) {
  opu::dispatch_float(c.in[0].dtype(), [&]<class T>() { reduce_typed<R, T>(c); });
}

// dy, y: max's output shape  x, dx: (d0..dn).
// dx = dy / ties at the positions where x equals its group's max, else 0.
template <class T>
void max_grad_typed(const KernelCtx& c) {
  ReduceGeom g(c.in[1].shape(), c.attrs);
  const T *dy = c.in[0].ptr<T>(), *x = c.in[1].ptr<T>(), *y = c.in[2].ptr<T>();
  T* dx = c.out[0].ptr<T>();
#pragma omp parallel for schedule(static) if (opu::worth_parallel(g.nout * g.group))
  for (int64_t o = 0; o < g.nout; ++o) {
    int64_t ties = 0;
    for (int64_t j = 0; j < g.group; ++j) ties += x[g.x_offset(o, j)] == y[o];
    T share = ties ? dy[o] / T(ties) : T(0);
    for (int64_t j = 0; j < g.group; ++j) {
      int64_t off = g.x_offset(o, j);
      dx[off] = x[off] == y[o] ? share : T(0);
    }
  }
}

void max_grad_forward(const KernelCtx& c) {
  opu::dispatch_float(c.in[1].dtype(), [&]<class T>() { max_grad_typed<T>(c); });
}

// Calls f.template operator()<U>() with an unsigned type of the dtype's width:
// data movement copies bits and needs no arithmetic type.
template <class F>
void dispatch_bits(DType t, F&& f) {
  if (dtype_size(t) == 4) f.template operator()<uint32_t>();
  else f.template operator()<uint64_t>();
}

// x: right-aligned in out's shape, each dim equal or 1  out: (d0..dn).
template <class U>
void broadcast_to_typed(const KernelCtx& c) {
  const Shape &xs = c.in[0].shape(), &ys = c.out[0].shape();
  int rank = ys.rank(), lead = rank - xs.rank();
  int64_t xstr[kMaxRank] = {}, st = 1;
  for (int i = xs.rank() - 1; i >= 0; --i) {
    xstr[i + lead] = xs[i] == 1 ? 0 : st;
    st *= xs[i];
  }
  const U* x = c.in[0].ptr<U>();
  U* y = c.out[0].ptr<U>();
  int64_t inner = rank ? ys[rank - 1] : 1, n = ys.numel(), rows = inner ? n / inner : 0;
  int64_t istr = rank ? xstr[rank - 1] : 0;
#pragma omp parallel for schedule(static) if (opu::worth_parallel(n))
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, off = 0;
    for (int d = rank - 2; d >= 0; --d) {
      off += (rem % ys[d]) * xstr[d];
      rem /= ys[d];
    }
    U* yr = y + r * inner;
    if (istr) std::memcpy(yr, x + off, size_t(inner) * sizeof(U));
    else std::fill_n(yr, inner, x[off]);
  }
}

void broadcast_to_forward(const KernelCtx& c) {
  dispatch_bits(c.in[0].dtype(), [&]<class U>() { broadcast_to_typed<U>(c); });
}

// ---- shape rules -----------------------------------------------------------------------
std::vector<TensorType> infer_reduce(std::span<const TensorType> in, const Attrs& a) {
  opu::require_float(in[0], "the input");
  return {{in[0].dtype, reduced_shape(in[0].shape, a)}};
}

// (dy, x, y) -> dx: dy and y must have max(x)'s shape.
std::vector<TensorType> infer_max_grad(std::span<const TensorType> in, const Attrs& a) {
  opu::require_float(in[1], "x");
  opu::require_same_dtype(in[0], in[1]);
  opu::require_same_dtype(in[2], in[1]);
  Shape want = reduced_shape(in[1].shape, a);
  if (!(in[0].shape == want) || !(in[2].shape == want))
    throw ShapeError("max_grad: dy " + in[0].shape.str() + " and y " + in[2].shape.str() + " must both be " +
                     want.str() + ", the max of x " + in[1].shape.str());
  return {in[1]};
}

std::vector<TensorType> infer_broadcast_to(std::span<const TensorType> in, const Attrs& a) {
  Shape to(std::span<const int64_t>(a.get_ints("shape")));
  const Shape& from = in[0].shape;
  bool ok = from.rank() <= to.rank();
  for (int i = 0; ok && i < from.rank(); ++i) {
    int64_t d = from[i], t = to[i + to.rank() - from.rank()];
    ok = d == t || d == 1;
  }
  if (!ok) throw ShapeError("cannot broadcast input shape " + from.str() + " to target shape " + to.str());
  return {{in[0].dtype, to}};
}

// ---- gradient rules -------------------------------------------------------------------
// dy with the reduced axes put back as size 1, so that it broadcasts against x.
Var dy_keepdims(Var dy, const Shape& xs, const Attrs& a) {
  Attrs keep = a;
  keep.set("keepdims", int64_t(1));
  Shape ks = reduced_shape(xs, keep);
  if (dy.shape() == ks) return dy;
  return ops::reshape(dy, std::vector<int64_t>(ks.dims().begin(), ks.dims().end()));
}

// Gradient rules copy attrs and shapes before building nodes: a new node may
// move the graph's node storage and invalidate references into it.

// d/dx sum = dy repeated over the reduced axes.
void vjp_sum(VjpCtx& c) {
  Attrs a = c.attrs();
  Shape xs = c.in(0).shape();
  Var dy = c.dout();
  c.set(0, ops::broadcast_to(dy_keepdims(dy, xs, a), xs));
}

// d/dx mean = dy / n repeated, n = elements per output.
void vjp_mean(VjpCtx& c) {
  Attrs a = c.attrs();
  Shape xs = c.in(0).shape();
  double n = double(xs.numel()) / double(std::max<int64_t>(1, c.out().shape().numel()));
  Var dy = c.dout() * (1.0 / n);
  c.set(0, ops::broadcast_to(dy_keepdims(dy, xs, a), xs));
}

Var max_grad(Var dy, Var x, Var y, const Attrs& a) {
  static const OpId id = op_id("max_grad");
  return apply(id, {dy, x, y}, a);
}

void vjp_max(VjpCtx& c) {
  Attrs a = c.attrs();
  Var dy = c.dout();
  c.set(0, max_grad(dy, c.in(0), c.out(), a));
}

// max_grad is linear in dy with weights w = max_grad(1, x, y): ddy = Σ_group w·ddx.
// In x and y it is piecewise constant: zero gradient.
void vjp_max_grad(VjpCtx& c) {
  Attrs a = c.attrs();
  Var dy = c.in(0), x = c.in(1), y = c.in(2);
  if (c.needs(0)) {
    TensorType dy_type = dy.type();
    Var w = max_grad(ops::fill(*dy.graph, dy_type, 1.0), x, y, a);
    Var ddx = c.dout();
    c.set(0, ops::sum(ddx * w, a.get_ints("axes"), a.get_int("keepdims") != 0));
  }
  if (c.needs(1)) c.set(1, ops::zeros_like(x));
  if (c.needs(2)) c.set(2, ops::zeros_like(y));
}

// The adjoint is dy itself: autograd sums it back to x's shape (reduce_to_shape).
void vjp_broadcast_to(VjpCtx& c) { c.set(0, c.dout()); }

// ---- gradient-check examples -----------------------------------------------------------
void example_sum(OpExample& ex) {
  Var x = ex.random_input("x", {2, 3, 4});
  ex.outputs = {ops::sum(x, {1}), ops::sum(x, {-1}, true), ops::sum(x), ops::sum(x, {0, 2})};
}
void example_mean(OpExample& ex) {
  Var x = ex.random_input("x", {2, 3, 4});
  ex.outputs = {ops::mean(x, {1}), ops::mean(x, {-1}, true), ops::mean(x), ops::mean(x, {0, 2})};
}
// Random values have no ties; the smallest gap is far above eps.
void example_max(OpExample& ex) {
  Var x = ex.random_input("x", {2, 3, 4});
  ex.outputs = {ops::max(x, {1}), ops::max(x, {-1}, true), ops::max(x), ops::max(x, {0, 2})};
}
// x has a tie in every row of 4: (1, 3, 3, -2) and so on.
void example_max_grad(OpExample& ex) {
  Var x = ex.fixed_input("x", Tensor::from_f64({3, 4}, std::vector<double>{1, 3, 3, -2, 5, 0, 1, 5, 2, 2, 2, 2}));
  Var dy = ex.random_input("dy", {3});
  Attrs a{{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t(0)}};
  ex.outputs = {max_grad(dy, x, ops::max(x, {1}), a)};
}
void example_broadcast_to(OpExample& ex) {
  Var a = ex.random_input("a", {3, 1});
  Var b = ex.random_input("b", {4});
  ex.outputs = {ops::broadcast_to(a, {2, 3, 4}), ops::broadcast_to(b, {3, 4})};
}

Var reduce_node(OpId id, Var x, std::vector<int64_t> axes, bool keepdims, std::source_location w) {
  return apply(id, {x}, {{"axes", std::move(axes)}, {"keepdims", int64_t(keepdims)}}, {}, w);
}

}  // namespace

void register_reduce_ops(Registry& r) {
  using opu::differentiable_op;
  r.add(differentiable_op("sum", 1, kNoFlags, {infer_reduce, reduce_forward<SumR>}, vjp_sum, example_sum));
  r.add(differentiable_op("mean", 1, kNoFlags, {infer_reduce, reduce_forward<MeanR>}, vjp_mean, example_mean));
  r.add(differentiable_op("max", 1, kNoFlags, {infer_reduce, reduce_forward<MaxR>}, vjp_max, example_max));
  r.add(differentiable_op("max_grad", 3, kNoFlags, {infer_max_grad, max_grad_forward}, vjp_max_grad,
                          example_max_grad));
  r.add(differentiable_op("broadcast_to", 1, kNoFlags, {infer_broadcast_to, broadcast_to_forward}, vjp_broadcast_to,
                          example_broadcast_to));
}

namespace ops {

Var sum(Var x, std::vector<int64_t> axes, bool keepdims, std::source_location where) {
  static const OpId id = op_id("sum");
  return reduce_node(id, x, std::move(axes), keepdims, where);
}
Var mean(Var x, std::vector<int64_t> axes, bool keepdims, std::source_location where) {
  static const OpId id = op_id("mean");
  return reduce_node(id, x, std::move(axes), keepdims, where);
}
Var max(Var x, std::vector<int64_t> axes, bool keepdims, std::source_location where) {
  static const OpId id = op_id("max");
  return reduce_node(id, x, std::move(axes), keepdims, where);
}
Var broadcast_to(Var x, Shape shape, std::source_location where) {
  static const OpId id = op_id("broadcast_to");
  return apply(id, {x}, {{"shape", std::vector<int64_t>(shape.dims().begin(), shape.dims().end())}}, {}, where);
}

}  // namespace ops
}  // namespace loom
