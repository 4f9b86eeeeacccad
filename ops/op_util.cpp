#include "ops/op_util.hpp"

namespace loom::opu {

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

std::vector<int64_t> broadcast_strides(const Shape& from, const Shape& to) {
  std::vector<int64_t> s(size_t(to.rank()), 0);
  std::vector<int64_t> fs = from.strides();
  int lead = to.rank() - from.rank();
  for (int i = 0; i < from.rank(); ++i) s[size_t(i + lead)] = from[i] == 1 ? 0 : fs[size_t(i)];
  return s;
}

}  // namespace loom::opu
