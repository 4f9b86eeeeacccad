// Embedding lookup and its companion backward op, a scatter-add.
//   embedding:      table (V,E), ids (any shape, i32) -> out ids.shape+(E)
//   embedding_grad: ids, dy (ids.shape+(E)); attr vocab = V -> dtable (V,E)
// Ids are validated serially before any parallel loop. embedding_grad is
// deterministic: each thread owns a block of E columns and adds the rows of dy
// in id order, so no two threads touch one element and the order of the sums
// does not depend on the thread count.
#include "ops/embedding.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "graph/op_example.hpp"
#include "graph/vjp.hpp"
#include "ops/families.hpp"
#include "ops/op_util.hpp"

namespace loom {
namespace {

// "[1,3]": the multi-index of flat position i in shape s (error messages only).
std::string position_str(int64_t i, const Shape& s) {
  std::string out;
  for (int d = s.rank() - 1; d >= 0; --d) {
    out = std::to_string(i % s[d]) + (out.empty() ? "" : ",") + out;
    i /= s[d];
  }
  return "[" + out + "]";
}

void validate_ids(const TensorRef& ids, int64_t vocab) {
  const int32_t* p = ids.ptr<int32_t>();
  for (int64_t i = 0; i < ids.numel(); ++i)
    if (p[i] < 0 || p[i] >= vocab)
      throw std::out_of_range("embedding: id " + std::to_string(p[i]) + " at position " +
                              position_str(i, ids.shape()) + " of ids " + ids.type.str() + " is outside [0, V=" +
                              std::to_string(vocab) + ")");
}

// table: (V,E)  ids: (n…)  out: (n…,E)
void embedding_forward(const KernelCtx& c) {
  const TensorRef &table = c.in[0], &ids = c.in[1];
  int64_t vocab = table.shape()[0], width = table.shape()[1], n = ids.numel();
  validate_ids(ids, vocab);
  size_t row_bytes = size_t(width) * dtype_size(table.dtype());
  const int32_t* id = ids.ptr<int32_t>();
  const auto* src = static_cast<const std::byte*>(table.data);
  auto* dst = static_cast<std::byte*>(c.out[0].data);
#pragma omp parallel for schedule(static) if (opu::worth_parallel(n * width))
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + size_t(i) * row_bytes, src + size_t(id[i]) * row_bytes, row_bytes);
}

// dtable[id[i], e] += dy[i, e], in i order for every e.
// ids: (n…)  dy: (n…,E)  dtable: (V,E)
template <class T>
void embedding_grad_typed(const KernelCtx& c) {
  const TensorRef& ids = c.in[0];
  int64_t vocab = c.out[0].shape()[0], width = c.out[0].shape()[1], n = ids.numel();
  validate_ids(ids, vocab);
  const int32_t* id = ids.ptr<int32_t>();
  const T* dy = c.in[1].ptr<T>();
  T* dt = c.out[0].ptr<T>();
  std::fill_n(dt, vocab * width, T(0));
  constexpr int64_t kColumns = 64 / sizeof(T);  // one cache line of a row per block
#pragma omp parallel for schedule(static) if (opu::worth_parallel(n * width))
  for (int64_t e0 = 0; e0 < width; e0 += kColumns) {
    int64_t e1 = std::min(width, e0 + kColumns);
    for (int64_t i = 0; i < n; ++i) {
      T* row = dt + id[i] * width;
      const T* g = dy + i * width;
      for (int64_t e = e0; e < e1; ++e) row[e] += g[e];
    }
  }
}

void embedding_grad_forward(const KernelCtx& c) {
  opu::dispatch_float(c.out[0].dtype(), [&]<class T>() { embedding_grad_typed<T>(c); });
}

// ---- shape rules ------------------------------------------------------------------
void require_ids(const TensorType& ids) {
  if (ids.dtype != DType::I32) throw ShapeError("ids must be i32, got " + ids.str());
  if (ids.shape.rank() + 1 > kMaxRank)
    throw ShapeError("ids " + ids.str() + " have rank " + std::to_string(ids.shape.rank()) +
                     "; the output adds an axis and shapes hold at most " + std::to_string(kMaxRank));
}

Shape with_width(const Shape& ids, int64_t width) {
  Shape s = ids;
  s.push_back(width);
  return s;
}

std::vector<TensorType> infer_embedding(std::span<const TensorType> in, const Attrs&) {
  opu::require_float(in[0], "the table");
  if (in[0].shape.rank() != 2) throw ShapeError("the table must be (V,E), got " + in[0].str());
  require_ids(in[1]);
  return {{in[0].dtype, with_width(in[1].shape, in[0].shape[1])}};
}

std::vector<TensorType> infer_embedding_grad(std::span<const TensorType> in, const Attrs& a) {
  require_ids(in[0]);
  opu::require_float(in[1], "dy");
  int64_t vocab = a.get_int("vocab");
  if (vocab < 0) throw ShapeError("vocab must be >= 0, got " + std::to_string(vocab));
  const Shape& dy = in[1].shape;
  if (dy.rank() != in[0].shape.rank() + 1 || !(with_width(in[0].shape, dy[dy.rank() - 1]) == dy))
    throw ShapeError("dy must be ids.shape + (E); ids " + in[0].str() + ", dy " + in[1].str());
  return {{in[1].dtype, Shape{vocab, dy[dy.rank() - 1]}}};
}

// ---- gradient rules ----------------------------------------------------------------
Var embedding_grad(Var ids, Var dy, int64_t vocab) {
  static const OpId id = op_id("embedding_grad");
  return apply(id, {ids, dy}, {{"vocab", vocab}});
}

void vjp_embedding(VjpCtx& c) {
  if (c.needs(0)) c.set(0, embedding_grad(c.in(1), c.dout(), c.in(0).dim(0)));
}

// embedding_grad is linear in dy and its transpose is the gather: d dy = g[ids].
void vjp_embedding_grad(VjpCtx& c) {
  if (c.needs(1)) c.set(1, ops::embedding(c.dout(), c.in(0)));
}

// ---- gradient-check examples (repeated ids exercise the accumulation) ------------------
Tensor example_ids() { return Tensor::from_i32({2, 3}, std::vector<int32_t>{4, 0, 4, 1, 4, 0}); }

void example_embedding(OpExample& ex) {
  Var table = ex.random_input("table", {5, 3});
  Var ids = ex.fixed_input("ids", example_ids());
  ex.outputs = {ops::embedding(table, ids)};
}

void example_embedding_grad(OpExample& ex) {
  Var ids = ex.fixed_input("ids", example_ids());
  Var dy = ex.random_input("dy", {2, 3, 3});
  ex.outputs = {embedding_grad(ids, dy, 5)};
}

}  // namespace

void register_embedding_ops(Registry& r) {
  r.add(opu::differentiable_op("embedding", 2, kNoFlags, {infer_embedding, embedding_forward}, vjp_embedding,
                               example_embedding));
  r.add(opu::differentiable_op("embedding_grad", 2, kNoFlags, {infer_embedding_grad, embedding_grad_forward},
                               vjp_embedding_grad, example_embedding_grad));
}

namespace ops {

Var embedding(Var table, Var ids, std::source_location where) {
  static const OpId id = op_id("embedding");
  return apply(id, {table, ids}, {}, {}, where);
}

}  // namespace ops
}  // namespace loom
