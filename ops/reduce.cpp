// Reductions over axes: sum (mean and max follow the same pattern).
// Shapes: x (d0..dn) -> x with the reduced axes removed (or 1 with keepdims).
#include "ops/reduce.hpp"

#include <algorithm>

#include "autograd/gradcheck.hpp"
#include "autograd/vjp.hpp"
#include "ops/elementwise.hpp"
#include "ops/families.hpp"
#include "ops/op_util.hpp"
#include "ops/shape_ops.hpp"

namespace loom {
namespace {

// Sorted, normalized axes; an empty list means every axis.
std::vector<int> reduced_axes(const Shape& s, const Attrs& a) {
  std::vector<int> axes;
  const auto& raw = a.get_ints("axes");
  if (raw.empty())
    for (int i = 0; i < s.rank(); ++i) axes.push_back(i);
  for (int64_t ax : raw) axes.push_back(s.normalize_axis(int(ax)));
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    throw ShapeError("reduction axes repeat an axis");
  return axes;
}

Shape keepdims_shape(const Shape& s, const std::vector<int>& axes) {
  Shape k = s;
  for (int ax : axes) k[ax] = 1;
  return k;
}

std::vector<TensorType> infer_reduce(std::span<const TensorType> in, const Attrs& a) {
  opu::require_float(in[0], "the input");
  std::vector<int> axes = reduced_axes(in[0].shape, a);
  if (a.get_int("keepdims")) return {{in[0].dtype, keepdims_shape(in[0].shape, axes)}};
  Shape out;
  for (int i = 0; i < in[0].shape.rank(); ++i)
    if (!std::binary_search(axes.begin(), axes.end(), i)) out.push_back(in[0].shape[i]);
  return {{in[0].dtype, out}};
}

// y[off(i)] += x[i], where off maps an input index to its reduced position.
template <class T>
void sum_typed(const KernelCtx& c) {
  const Shape& xs = c.in[0].shape();
  std::vector<int> axes = reduced_axes(xs, c.attrs);
  Shape ks = keepdims_shape(xs, axes);
  const T* x = c.in[0].ptr<T>();
  T* y = c.out[0].ptr<T>();
  int64_t n = xs.numel(), m = ks.numel();
  // Trailing axes reduced: each output is the sum of one contiguous row.
  bool trailing = axes.empty() || axes.front() == xs.rank() - int(axes.size());
  if (trailing) {
    int64_t inner = m ? n / m : 0;
#pragma omp parallel for schedule(static) if (opu::worth_parallel(n))
    for (int64_t r = 0; r < m; ++r) {
      T acc = 0;
      for (int64_t j = 0; j < inner; ++j) acc += x[r * inner + j];
      y[r] = acc;
    }
    return;
  }
  std::fill_n(y, m, T(0));
  std::vector<int64_t> ostr = opu::broadcast_strides(ks, xs);
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, off = 0;
    for (int d = xs.rank() - 1; d >= 0; --d) {
      off += (rem % xs[d]) * ostr[size_t(d)];
      rem /= xs[d];
    }
    y[off] += x[i];
  }
}

void sum_forward(const KernelCtx& c) {
  opu::dispatch_float(c.in[0].dtype(), [&]<class T>() { sum_typed<T>(c); });
}

// d/dx sum = dy broadcast back over the reduced axes.
void vjp_sum(VjpCtx& c) {
  Var x = c.in(0);
  std::vector<int> axes = reduced_axes(x.shape(), c.attrs());
  Shape ks = keepdims_shape(x.shape(), axes);
  Var dy = ops::reshape(c.dout(), std::vector<int64_t>(ks.dims().begin(), ks.dims().end()));
  c.set(0, ops::zeros_like(x) + dy);
}

void example_sum(OpExample& ex) {
  Var x = ex.random_input("x", {2, 3, 4});
  ex.outputs = {ops::sum(x, {1}), ops::sum(x, {-1}, true), ops::sum(x)};
}

}  // namespace

void register_reduce_ops(Registry& r) {
  OpDef d;
  d.name = "sum";
  d.arity = 1;
  d.infer = infer_reduce;
  d.forward = sum_forward;
  d.vjp = vjp_sum;
  d.example = example_sum;
  r.add(std::move(d));
}

namespace ops {

Var sum(Var x, std::vector<int64_t> axes, bool keepdims, std::source_location where) {
  static const OpId id = op_id("sum");
  return apply(id, {x}, {{"axes", std::move(axes)}, {"keepdims", int64_t(keepdims)}}, {}, where);
}
Var mean(Var, std::vector<int64_t>, bool, std::source_location) { throw GraphError("todo"); }
Var max(Var, std::vector<int64_t>, bool, std::source_location) { throw GraphError("todo"); }
Var broadcast_to(Var, Shape, std::source_location) { throw GraphError("todo"); }

}  // namespace ops
}  // namespace loom
