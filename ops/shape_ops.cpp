// Data movement without arithmetic: reshape, permute (transpose is a permute),
// slice and its adjoint slice_grad (dy written into zeros), concat (variadic),
// where, masked_fill, and cast between f32, f64 and i32.
// Layout: row-major and contiguous, rank <= kMaxRank. Kernels that only move
// data copy bits by element width, so they serve every dtype; they never
// allocate (index arithmetic lives in fixed arrays on the stack).
// Selectors (where's cond, masked_fill's mask) get a zero adjoint: a cast to
// i32 upstream of one refuses differentiation itself, naming its node.
#include "ops/shape_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "graph/op_example.hpp"
#include "graph/vjp.hpp"
#include "ops/elementwise.hpp"
#include "ops/families.hpp"
#include "ops/op_util.hpp"

namespace loom {
namespace {

std::string ints_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}
std::vector<int64_t> dims_of(const Shape& s) { return {s.dims().begin(), s.dims().end()}; }

// Calls f.template operator()<U>() with an unsigned type of the dtype's width.
template <class F>
void dispatch_bits(DType t, F&& f) {
  if (dtype_size(t) == 4) f.template operator()<uint32_t>();
  else f.template operator()<uint64_t>();
}

// Calls f.template operator()<T>() with the dtype's C++ type.
template <class F>
void dispatch_any(DType t, F&& f) {
  switch (t) {
    case DType::F32: f.template operator()<float>(); return;
    case DType::F64: f.template operator()<double>(); return;
    case DType::I32: f.template operator()<int32_t>(); return;
  }
}

// ---- reshape ---------------------------------------------------------------------------
Shape resolve_reshape(const Shape& from, const std::vector<int64_t>& to) {
  auto fail = [&](const std::string& why) {
    return ShapeError("reshape: cannot view input shape " + from.str() + " (" + std::to_string(from.numel()) +
                      " elements) as target " + ints_str(to) + ": " + why);
  };
  if (to.size() > size_t(kMaxRank)) throw fail("more than " + std::to_string(kMaxRank) + " dims");
  Shape out;
  int infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < to.size(); ++i) {
    if (to[i] < -1) throw fail("negative dim " + std::to_string(to[i]));
    if (to[i] == -1 && infer_at >= 0) throw fail("more than one -1");
    if (to[i] == -1) infer_at = int(i);
    else known *= to[i];
    out.push_back(to[i] == -1 ? 1 : to[i]);
  }
  if (infer_at >= 0) {
    if (known == 0 || from.numel() % known) throw fail("the -1 cannot be inferred");
    out[infer_at] = from.numel() / known;
  }
  if (out.numel() != from.numel()) throw fail("the target has " + std::to_string(out.numel()) + " elements");
  return out;
}

std::vector<TensorType> infer_reshape(std::span<const TensorType> in, const Attrs& a) {
  return {{in[0].dtype, resolve_reshape(in[0].shape, a.get_ints("shape"))}};
}

void copy_forward(const KernelCtx& c) {
  if (c.out[0].data != c.in[0].data) std::memcpy(c.out[0].data, c.in[0].data, c.in[0].type.bytes());
}

void vjp_reshape(VjpCtx& c) {
  std::vector<int64_t> dims = dims_of(c.in(0).shape());
  Var dy = c.dout();
  c.set(0, ops::reshape(dy, dims));
}

// ---- permute ---------------------------------------------------------------------------
// Normalized perm; throws unless it names every axis of s exactly once.
void resolve_perm(const Shape& s, const std::vector<int64_t>& perm, int (&out)[kMaxRank]) {
  bool seen[kMaxRank] = {};
  bool ok = int(perm.size()) == s.rank();
  for (size_t i = 0; ok && i < perm.size(); ++i) {
    int64_t p = perm[i] < 0 ? perm[i] + s.rank() : perm[i];
    ok = p >= 0 && p < s.rank() && !seen[p];
    if (ok) {
      seen[p] = true;
      out[i] = int(p);
    }
  }
  if (!ok)
    throw ShapeError("permute: " + ints_str(perm) + " is not a permutation of the " + std::to_string(s.rank()) +
                     " axes of input shape " + s.str());
}

std::vector<TensorType> infer_permute(std::span<const TensorType> in, const Attrs& a) {
  int perm[kMaxRank];
  resolve_perm(in[0].shape, a.get_ints("perm"), perm);
  Shape out;
  for (int i = 0; i < in[0].shape.rank(); ++i) out.push_back(in[0].shape[perm[i]]);
  return {{in[0].dtype, out}};
}

// x: (d0..dn)  y: (d_perm[0]..d_perm[n]); y is written row by row, x read strided.
template <class U>
void permute_typed(const KernelCtx& c) {
  const Shape &xs = c.in[0].shape(), &ys = c.out[0].shape();
  int rank = ys.rank(), perm[kMaxRank];
  resolve_perm(xs, c.attrs.get_ints("perm"), perm);
  int64_t xstr[kMaxRank], st = 1, ystr[kMaxRank];  // ystr: x stride of each y axis
  for (int i = rank - 1; i >= 0; --i) {
    xstr[i] = st;
    st *= xs[i];
  }
  for (int i = 0; i < rank; ++i) ystr[i] = xstr[perm[i]];
  const U* x = c.in[0].ptr<U>();
  U* y = c.out[0].ptr<U>();
  int64_t n = ys.numel(), inner = rank ? ys[rank - 1] : 1, rows = inner ? n / inner : 0;
  int64_t istr = rank ? ystr[rank - 1] : 1;
#pragma omp parallel for schedule(static) if (opu::worth_parallel(n))
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, off = 0;
    for (int d = rank - 2; d >= 0; --d) {
      off += (rem % ys[d]) * ystr[d];
      rem /= ys[d];
    }
    U* yr = y + r * inner;
    for (int64_t j = 0; j < inner; ++j) yr[j] = x[off + j * istr];
  }
}

void permute_forward(const KernelCtx& c) {
  dispatch_bits(c.in[0].dtype(), [&]<class U>() { permute_typed<U>(c); });
}

// The inverse permutation undoes it: dx = permute(dy, inv), inv[perm[i]] = i.
void vjp_permute(VjpCtx& c) {
  int perm[kMaxRank];
  resolve_perm(c.in(0).shape(), c.attrs().get_ints("perm"), perm);
  std::vector<int64_t> inv(size_t(c.in(0).rank()));
  for (size_t i = 0; i < inv.size(); ++i) inv[size_t(perm[i])] = int64_t(i);
  Var dy = c.dout();
  c.set(0, ops::permute(dy, inv));
}

// ---- slice and slice_grad ----------------------------------------------------------------
// x viewed as (outer, dim, inner); the slice keeps [begin, end) of dim.
struct SliceSpec {
  int axis = 0;
  int64_t begin = 0, end = 0, outer = 1, dim = 1, inner = 1;
  int64_t len() const { return end - begin; }
};

// Python-style negative begin/end count from the end; 0 <= begin < end <= dim.
SliceSpec resolve_slice(const Shape& s, const Attrs& a, int64_t dim_override = -1) {
  SliceSpec p;
  int64_t ax = a.get_int("axis");
  if (ax < -s.rank() || ax >= s.rank())
    throw ShapeError("slice axis " + std::to_string(ax) + " is out of range for input shape " + s.str());
  p.axis = s.normalize_axis(int(ax));
  p.dim = dim_override >= 0 ? dim_override : s[p.axis];
  p.begin = a.get_int("begin");
  p.end = a.get_int("end");
  if (p.begin < 0) p.begin += p.dim;
  if (p.end < 0) p.end += p.dim;
  if (p.begin < 0 || p.begin >= p.end || p.end > p.dim)
    throw ShapeError("slice [" + std::to_string(a.get_int("begin")) + ", " + std::to_string(a.get_int("end")) +
                     ") of axis " + std::to_string(ax) + " is empty or outside 0.." + std::to_string(p.dim) +
                     " of shape " + s.str());
  for (int i = 0; i < p.axis; ++i) p.outer *= s[i];
  for (int i = p.axis + 1; i < s.rank(); ++i) p.inner *= s[i];
  return p;
}

std::vector<TensorType> infer_slice(std::span<const TensorType> in, const Attrs& a) {
  SliceSpec p = resolve_slice(in[0].shape, a);
  Shape out = in[0].shape;
  out[p.axis] = p.len();
  return {{in[0].dtype, out}};
}

// slice_grad(dy): dy is the slice; the output has `dim` along the axis.
std::vector<TensorType> infer_slice_grad(std::span<const TensorType> in, const Attrs& a) {
  SliceSpec p = resolve_slice(in[0].shape, a, a.get_int("dim"));
  if (in[0].shape[p.axis] != p.len())
    throw ShapeError("slice_grad: dy shape " + in[0].shape.str() + " has " + std::to_string(in[0].shape[p.axis]) +
                     " along axis " + std::to_string(p.axis) + ", the slice has " + std::to_string(p.len()));
  Shape out = in[0].shape;
  out[p.axis] = p.dim;
  return {{in[0].dtype, out}};
}

// x: (outer, dim, inner)  y: (outer, end-begin, inner)
template <class U>
void slice_typed(const KernelCtx& c) {
  SliceSpec p = resolve_slice(c.in[0].shape(), c.attrs);
  const U* x = c.in[0].ptr<U>();
  U* y = c.out[0].ptr<U>();
  int64_t row = p.len() * p.inner;
#pragma omp parallel for schedule(static) if (opu::worth_parallel(p.outer * row))
  for (int64_t o = 0; o < p.outer; ++o)
    std::memcpy(y + o * row, x + (o * p.dim + p.begin) * p.inner, size_t(row) * sizeof(U));
}

// dy: (outer, end-begin, inner)  dx: (outer, dim, inner), zero outside the slice.
template <class U>
void slice_grad_typed(const KernelCtx& c) {
  SliceSpec p = resolve_slice(c.out[0].shape(), c.attrs);
  const U* dy = c.in[0].ptr<U>();
  U* dx = c.out[0].ptr<U>();
  int64_t row = p.len() * p.inner, full = p.dim * p.inner;
#pragma omp parallel for schedule(static) if (opu::worth_parallel(p.outer * full))
  for (int64_t o = 0; o < p.outer; ++o) {
    U* r = dx + o * full;
    std::fill(r, r + p.begin * p.inner, U(0));
    std::memcpy(r + p.begin * p.inner, dy + o * row, size_t(row) * sizeof(U));
    std::fill(r + p.end * p.inner, r + full, U(0));
  }
}

void slice_forward(const KernelCtx& c) {
  dispatch_bits(c.in[0].dtype(), [&]<class U>() { slice_typed<U>(c); });
}
void slice_grad_forward(const KernelCtx& c) {
  dispatch_bits(c.in[0].dtype(), [&]<class U>() { slice_grad_typed<U>(c); });
}

Var slice_grad(Var dy, int axis, int64_t begin, int64_t end, int64_t dim) {
  static const OpId id = op_id("slice_grad");
  return apply(id, {dy}, {{"axis", int64_t(axis)}, {"begin", begin}, {"end", end}, {"dim", dim}});
}

void vjp_slice(VjpCtx& c) {
  SliceSpec p = resolve_slice(c.in(0).shape(), c.attrs());
  Var dy = c.dout();
  c.set(0, slice_grad(dy, p.axis, p.begin, p.end, p.dim));
}
// slice_grad is linear; its adjoint picks the slice back out.
void vjp_slice_grad(VjpCtx& c) {
  SliceSpec p = resolve_slice(c.out().shape(), c.attrs());
  Var ddx = c.dout();
  c.set(0, ops::slice(ddx, p.axis, p.begin, p.end));
}

// ---- concat ---------------------------------------------------------------------------------
std::vector<TensorType> infer_concat(std::span<const TensorType> in, const Attrs& a) {
  if (in.empty()) throw ShapeError("concat needs at least one input");
  const Shape& s0 = in[0].shape;
  int64_t ax = a.get_int("axis");
  if (ax < -s0.rank() || ax >= s0.rank())
    throw ShapeError("concat axis " + std::to_string(ax) + " is out of range for input 0 shape " + s0.str());
  int axis = s0.normalize_axis(int(ax));
  Shape out = s0;
  for (size_t k = 1; k < in.size(); ++k) {
    const Shape& s = in[k].shape;
    opu::require_same_dtype(in[0], in[k]);
    bool ok = s.rank() == s0.rank();
    for (int i = 0; ok && i < s.rank(); ++i) ok = i == axis || s[i] == s0[i];
    if (!ok)
      throw ShapeError("concat along axis " + std::to_string(ax) + ": input " + std::to_string(k) + " shape " +
                       s.str() + " differs from input 0 shape " + s0.str() + " off the concat axis");
    out[axis] += s[axis];
  }
  return {{in[0].dtype, out}};
}

// x_k: (outer, d_k, inner)  y: (outer, Σ d_k, inner)
template <class U>
void concat_typed(const KernelCtx& c) {
  const Shape& ys = c.out[0].shape();
  int axis = ys.normalize_axis(int(c.attrs.get_int("axis")));
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= ys[i];
  for (int i = axis + 1; i < ys.rank(); ++i) inner *= ys[i];
  int64_t row = ys[axis] * inner;
  U* y = c.out[0].ptr<U>();
#pragma omp parallel for schedule(static) if (opu::worth_parallel(outer * row))
  for (int64_t o = 0; o < outer; ++o) {
    U* dst = y + o * row;
    for (const TensorRef& x : c.in) {
      int64_t part = x.shape()[axis] * inner;
      std::memcpy(dst, x.ptr<U>() + o * part, size_t(part) * sizeof(U));
      dst += part;
    }
  }
}

void concat_forward(const KernelCtx& c) {
  dispatch_bits(c.out[0].dtype(), [&]<class U>() { concat_typed<U>(c); });
}

// Each input's adjoint is its slice of dy.
void vjp_concat(VjpCtx& c) {
  int axis = c.out().shape().normalize_axis(int(c.attrs().get_int("axis")));
  std::vector<int64_t> sizes;
  for (int k = 0; k < c.num_inputs(); ++k) sizes.push_back(c.in(k).dim(axis));
  Var dy = c.dout();
  int64_t begin = 0;
  for (int k = 0; k < c.num_inputs(); ++k) {
    if (c.needs(k)) c.set(k, ops::slice(dy, axis, begin, begin + sizes[size_t(k)]));
    begin += sizes[size_t(k)];
  }
}

// ---- where and masked_fill ------------------------------------------------------------------
std::vector<TensorType> infer_where(std::span<const TensorType> in, const Attrs&) {
  if (!(in[0].shape == in[1].shape) || !(in[1].shape == in[2].shape))
    throw ShapeError("where needs equal shapes: cond " + in[0].str() + ", a " + in[1].str() + ", b " + in[2].str());
  opu::require_same_dtype(in[1], in[2]);
  return {in[1]};
}

// cond, a, b, y: the same shape; cond of any dtype, nonzero (or NaN) = true.
template <class C, class U>
void where_typed(const KernelCtx& c) {
  const C* cond = c.in[0].ptr<C>();
  const U *a = c.in[1].ptr<U>(), *b = c.in[2].ptr<U>();
  U* y = c.out[0].ptr<U>();
  int64_t n = c.out[0].numel();
#pragma omp parallel for schedule(static) if (opu::worth_parallel(n))
  for (int64_t i = 0; i < n; ++i) y[i] = cond[i] != C(0) ? a[i] : b[i];
}

void where_forward(const KernelCtx& c) {
  dispatch_any(c.in[0].dtype(), [&]<class C>() {
    dispatch_bits(c.out[0].dtype(), [&]<class U>() { where_typed<C, U>(c); });
  });
}

std::vector<TensorType> infer_masked_fill(std::span<const TensorType> in, const Attrs&) {
  const Shape &xs = in[0].shape, &ms = in[1].shape;
  bool ok = ms.rank() <= xs.rank();
  for (int i = 0; ok && i < ms.rank(); ++i) {
    int64_t d = ms[i];
    ok = d == 1 || d == xs[i + xs.rank() - ms.rank()];
  }
  if (!ok) throw ShapeError("masked_fill: mask shape " + ms.str() + " does not broadcast to x shape " + xs.str());
  return {in[0]};
}

// x, y: (d0..dn)  mask: broadcasts to x; y = mask != 0 ? value : x.
template <class M, class T>
void masked_fill_typed(const KernelCtx& c) {
  const Shape &xs = c.in[0].shape(), &ms = c.in[1].shape();
  int rank = xs.rank(), lead = rank - ms.rank();
  int64_t mstr[kMaxRank] = {}, st = 1;
  for (int i = ms.rank() - 1; i >= 0; --i) {
    mstr[i + lead] = ms[i] == 1 ? 0 : st;
    st *= ms[i];
  }
  const T* x = c.in[0].ptr<T>();
  const M* mask = c.in[1].ptr<M>();
  T* y = c.out[0].ptr<T>();
  T value = T(c.attrs.get_float("value"));
  int64_t n = xs.numel(), inner = rank ? xs[rank - 1] : 1, rows = inner ? n / inner : 0;
  int64_t istr = rank ? mstr[rank - 1] : 0;
#pragma omp parallel for schedule(static) if (opu::worth_parallel(n))
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, off = 0;
    for (int d = rank - 2; d >= 0; --d) {
      off += (rem % xs[d]) * mstr[d];
      rem /= xs[d];
    }
    for (int64_t j = 0; j < inner; ++j) y[r * inner + j] = mask[off + j * istr] != M(0) ? value : x[r * inner + j];
  }
}

void masked_fill_forward(const KernelCtx& c) {
  dispatch_any(c.in[1].dtype(), [&]<class M>() {
    dispatch_any(c.in[0].dtype(), [&]<class T>() { masked_fill_typed<M, T>(c); });
  });
}

// A zero adjoint for a selector (cond, mask): float when the selector is an
// integer, so that a float->i32 cast above it reports itself as the obstacle.
Var selector_zero_grad(Var selector, DType data_dtype) {
  DType dt = selector.dtype() == DType::I32 ? data_dtype : selector.dtype();
  Shape s = selector.shape();
  return ops::fill(*selector.graph, {dt, s}, 0.0);
}

// y = cond ? a : b: da = where(cond, dy, 0), db = masked_fill(dy, cond, 0).
void vjp_where(VjpCtx& c) {
  Var cond = c.in(0), dy = c.dout();
  if (c.needs(1)) c.set(1, ops::where(cond, dy, ops::zeros_like(dy)));
  if (c.needs(2)) c.set(2, ops::masked_fill(dy, cond, 0.0));
  if (c.needs(0)) c.set(0, selector_zero_grad(cond, dy.dtype()));
}

// y = mask ? value : x: dx = masked_fill(dy, mask, 0).
void vjp_masked_fill(VjpCtx& c) {
  Var mask = c.in(1), dy = c.dout();
  if (c.needs(0)) c.set(0, ops::masked_fill(dy, mask, 0.0));
  if (c.needs(1)) c.set(1, selector_zero_grad(mask, dy.dtype()));
}

// ---- cast -----------------------------------------------------------------------------------
std::vector<TensorType> infer_cast(std::span<const TensorType> in, const Attrs& a) {
  int64_t dt = a.get_int("dtype");
  if (dt < 0 || dt > int64_t(DType::I32)) throw ShapeError("cast: unknown target dtype code " + std::to_string(dt));
  return {{DType(dt), in[0].shape}};
}

// To i32: truncation toward zero, NaN -> 0, saturating at the i32 range
// (a plain static_cast of such values is undefined behaviour).
template <class To, class From>
To convert(From v) {
  if constexpr (std::is_same_v<To, int32_t> && !std::is_same_v<From, int32_t>) {
    if (v != v) return 0;
    if (v >= From(2147483647.0)) return INT32_MAX;
    if (v <= From(-2147483648.0)) return INT32_MIN;
  }
  return static_cast<To>(v);
}

template <class From, class To>
void cast_typed(const KernelCtx& c) {
  const From* x = c.in[0].ptr<From>();
  To* y = c.out[0].ptr<To>();
  int64_t n = c.in[0].numel();
#pragma omp parallel for schedule(static) if (opu::worth_parallel(n))
  for (int64_t i = 0; i < n; ++i) y[i] = convert<To>(x[i]);
}

void cast_forward(const KernelCtx& c) {
  dispatch_any(c.in[0].dtype(), [&]<class From>() {
    dispatch_any(c.out[0].dtype(), [&]<class To>() { cast_typed<From, To>(c); });
  });
}

// Between float types the adjoint is cast back. A float->i32 cast is piecewise
// constant and its adjoint would silently be zero: refuse, naming the node.
// An i32 input is on a gradient path only below such a cast; a zero adjoint
// sends the walk on to it.
void vjp_cast(VjpCtx& c) {
  DType from = c.in(0).dtype(), to = c.out().dtype();
  if (to == DType::I32 && from != DType::I32)
    throw GraphError("cannot differentiate through node " + c.graph().describe(c.out().value.node) + ": a cast from " + std::string(dtype_name(from)) + " to i32 has no gradient; " +
                     "compute the integer value outside the differentiated path");
  Var dy = c.dout();
  if (from == DType::I32) c.set(0, ops::fill(c.graph(), {to, c.in(0).shape()}, 0.0));
  else c.set(0, ops::cast(dy, from));
}

// ---- gradient-check examples --------------------------------------------------------------------
void example_reshape(OpExample& ex) {
  Var x = ex.random_input("x", {2, 6});
  ex.outputs = {ops::reshape(x, {3, -1}), ops::reshape(x, {12})};
}
void example_permute(OpExample& ex) {
  Var x = ex.random_input("x", {2, 3, 4});
  ex.outputs = {ops::permute(x, {2, 0, 1}), ops::transpose(x), ops::permute(x, {-1, 1, 0})};
}
void example_slice(OpExample& ex) {
  Var x = ex.random_input("x", {3, 5, 2});
  ex.outputs = {ops::slice(x, 1, 1, 4), ops::slice(x, 0, -1, 3), ops::slice(x, -1, 0, 1)};
}
void example_slice_grad(OpExample& ex) {
  Var dy = ex.random_input("dy", {2, 2, 3});
  ex.outputs = {slice_grad(dy, 1, 1, 3, 5), slice_grad(dy, 1, 0, 2, 2)};
}
void example_concat(OpExample& ex) {
  Var a = ex.random_input("a", {2, 1, 3}), b = ex.random_input("b", {2, 4, 3}), d = ex.random_input("d", {2, 2, 3});
  ex.outputs = {ops::concat({a, b, d}, 1), ops::concat({b, b}, 0), ops::concat({a, a}, -1)};
}
Tensor example_mask(Shape s) {
  Tensor t(DType::I32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, (i * 7 + 3) % 3 == 0 ? 0 : (i % 2 ? 1 : -4));
  return t;
}
void example_where(OpExample& ex) {
  Var a = ex.random_input("a", {3, 4}), b = ex.random_input("b", {3, 4});
  Var ci = ex.fixed_input("ci", example_mask({3, 4}));
  Var cf = ex.fixed_input("cf", example_mask({3, 4}).to(DType::F64));
  ex.outputs = {ops::where(ci, a, b), ops::where(cf, b, a)};
}
void example_masked_fill(OpExample& ex) {
  Var x = ex.random_input("x", {3, 4});
  Var row = ex.fixed_input("row", example_mask({4}));
  Var full = ex.fixed_input("full", example_mask({3, 4}).to(DType::F64));
  ex.outputs = {ops::masked_fill(x, row, -5.0), ops::masked_fill(x, full, 2.0)};
}
// Through f32 and back: steps of 1e-2 keep f32 rounding (~6e-8) far below tolerance.
void example_cast(OpExample& ex) {
  Var x = ex.random_input("x", {3, 4});
  ex.outputs = {ops::cast(ops::cast(x, DType::F32), DType::F64)};
  ex.eps = 1e-2;
  ex.tolerance = 1e-4;
}

}  // namespace

void register_shape_ops(Registry& r) {
  using opu::differentiable_op;
  r.add(differentiable_op("reshape", 1, kInplaceOk, {infer_reshape, copy_forward}, vjp_reshape, example_reshape));
  r.add(differentiable_op("permute", 1, kNoFlags, {infer_permute, permute_forward}, vjp_permute, example_permute));
  r.add(differentiable_op("slice", 1, kNoFlags, {infer_slice, slice_forward}, vjp_slice, example_slice));
  r.add(differentiable_op("slice_grad", 1, kNoFlags, {infer_slice_grad, slice_grad_forward}, vjp_slice_grad,
                          example_slice_grad));
  r.add(differentiable_op("concat", -1, kNoFlags, {infer_concat, concat_forward}, vjp_concat, example_concat));
  r.add(differentiable_op("where", 3, kNoFlags, {infer_where, where_forward}, vjp_where, example_where));
  r.add(differentiable_op("masked_fill", 2, kInplaceOk, {infer_masked_fill, masked_fill_forward}, vjp_masked_fill,
                          example_masked_fill));
  r.add(differentiable_op("cast", 1, kNoFlags, {infer_cast, cast_forward}, vjp_cast, example_cast));
}

namespace ops {

Var reshape(Var x, std::vector<int64_t> shape, std::source_location where) {
  static const OpId id = op_id("reshape");
  return apply(id, {x}, {{"shape", std::move(shape)}}, {}, where);
}

Var permute(Var x, std::vector<int64_t> perm, std::source_location where) {
  static const OpId id = op_id("permute");
  return apply(id, {x}, {{"perm", std::move(perm)}}, {}, where);
}

// A permute that swaps two axes. Bad axes are reported by permute's shape
// rule, with the attempted swap in the permutation it prints.
Var transpose(Var x, int64_t axis0, int64_t axis1, std::source_location where) {
  int rank = x.rank();
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  for (int i = 0; i < rank; ++i) perm[size_t(i)] = i;
  auto norm = [rank](int64_t a) { return a < 0 ? a + rank : a; };
  int64_t a0 = norm(axis0), a1 = norm(axis1);
  if (a0 < 0 || a0 >= rank || a1 < 0 || a1 >= rank) {
    perm.push_back(axis0);  // an invalid perm: permute's rule throws, naming x's shape
  } else {
    std::swap(perm[size_t(a0)], perm[size_t(a1)]);
  }
  return permute(x, std::move(perm), where);
}

Var slice(Var x, int64_t axis, int64_t begin, int64_t end, std::source_location where) {
  static const OpId id = op_id("slice");
  return apply(id, {x}, {{"axis", axis}, {"begin", begin}, {"end", end}}, {}, where);
}

Var concat(const std::vector<Var>& xs, int64_t axis, std::source_location where) {
  static const OpId id = op_id("concat");
  if (xs.empty())
    throw ShapeError("ShapeError in concat built at " + std::string(where.file_name()) + ":" +
                     std::to_string(where.line()) + "\n  concat needs at least one input");
  if (xs.size() == 1) return xs[0];
  return apply(id, xs, {{"axis", axis}}, {}, where);
}

Var where(Var cond, Var a, Var b, std::source_location where) {
  static const OpId id = op_id("where");
  return apply(id, {cond, a, b}, {}, {}, where);
}

Var masked_fill(Var x, Var mask, double value, std::source_location where) {
  static const OpId id = op_id("masked_fill");
  return apply(id, {x, mask}, {{"value", value}}, {}, where);
}

Var cast(Var x, DType dtype, std::source_location where) {
  static const OpId id = op_id("cast");
  if (x.dtype() == dtype) return x;
  return apply(id, {x}, {{"dtype", int64_t(dtype)}}, {}, where);
}

}  // namespace ops
}  // namespace loom
