#include "ops/op_util.hpp"

namespace loom::opu {

OpDef differentiable_op(const char* name, int arity, uint32_t flags, OpKernels kernels, VjpFn vjp,
                        void (*example)(OpExample&)) {
  OpDef d;
  d.name = name;
  d.arity = arity;
  d.flags = flags;
  d.infer = kernels.infer;
  d.forward = kernels.forward;
  d.prepare = kernels.prepare;
  d.vjp = vjp;
  d.example = example;
  return d;
}

OpDef gradient_free_op(const char* name, int arity, uint32_t flags, OpKernels kernels, std::string why_no_grad) {
  OpDef d;
  d.name = name;
  d.arity = arity;
  d.flags = flags | kNonDifferentiable;
  d.infer = kernels.infer;
  d.forward = kernels.forward;
  d.prepare = kernels.prepare;
  d.why_no_grad = std::move(why_no_grad);
  return d;
}

void require_float(const TensorType& t, const char* what) {
  if (t.dtype != DType::F32 && t.dtype != DType::F64)
    throw ShapeError(std::string(what) + " must be f32 or f64, got " + t.str());
}

void require_same_dtype(const TensorType& a, const TensorType& b) {
  if (a.dtype != b.dtype) throw ShapeError("dtypes differ: " + a.str() + " vs " + b.str());
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  int r = std::max(a.rank(), b.rank());
  Shape out;
  for (int i = 0; i < r; ++i) {
    int ia = i - (r - a.rank()), ib = i - (r - b.rank());
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1)
      throw ShapeError("shapes " + a.str() + " and " + b.str() + " do not broadcast (axis " + std::to_string(i) +
                       ": " + std::to_string(da) + " vs " + std::to_string(db) + ")");
    out.push_back(da == 1 ? db : da);
  }
  return out;
}

// Computed on the stack: kernels call this on every run.
std::array<int64_t, kMaxRank> broadcast_strides(const Shape& from, const Shape& to) {
  std::array<int64_t, kMaxRank> s{};
  int lead = to.rank() - from.rank();
  int64_t stride = 1;
  for (int i = from.rank() - 1; i >= 0; --i) {
    s[size_t(i + lead)] = from[i] == 1 ? 0 : stride;
    stride *= from[i];
  }
  return s;
}

}  // namespace loom::opu
