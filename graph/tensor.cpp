#include "graph/tensor.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include "graph/errors.hpp"

namespace loom {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::I32: return "i32";
  }
  return "?";
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I32: return 4;
  }
  return 0;
}

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::span<const int64_t>(dims.begin(), dims.size())) {}

Shape::Shape(std::span<const int64_t> dims) {
  if (dims.size() > size_t(kMaxRank))
    throw ShapeError("shape of rank " + std::to_string(dims.size()) + " exceeds the maximum rank " +
                     std::to_string(kMaxRank));
  for (int64_t d : dims) push_back(d);
}

void Shape::push_back(int64_t d) {
  if (rank_ == kMaxRank) throw ShapeError("shape " + str() + " cannot grow past rank " + std::to_string(kMaxRank));
  if (d < 0) throw ShapeError("negative dimension " + std::to_string(d) + " in shape " + str());
  dims_[rank_++] = d;
}

int Shape::normalize_axis(int axis) const {
  int a = axis < 0 ? axis + rank_ : axis;
  if (a < 0 || a >= rank_)
    throw ShapeError("axis " + std::to_string(axis) + " is out of range for shape " + str());
  return a;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

std::vector<int64_t> Shape::strides() const {
  std::vector<int64_t> s(rank_);
  int64_t acc = 1;
  for (int i = rank_ - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= dims_[i];
  }
  return s;
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] != o.dims_[i]) return false;
  return true;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ",";
    s += std::to_string(dims_[i]);
  }
  return s + "]";
}

std::string TensorType::str() const { return std::string(dtype_name(dtype)) + shape.str(); }

void AlignedFree::operator()(void* p) const { std::free(p); }

AlignedBuffer aligned_alloc_bytes(size_t bytes) {
  size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  return AlignedBuffer(static_cast<std::byte*>(p));
}

Tensor::Tensor(TensorType type) : type_(type), data_(aligned_alloc_bytes(type.bytes())) {}

Tensor::Tensor(const Tensor& o) : type_(o.type_), data_(aligned_alloc_bytes(o.bytes())) {
  if (o.data_) std::memcpy(data_.get(), o.data_.get(), o.bytes());
}

Tensor& Tensor::operator=(const Tensor& o) {
  if (this != &o) *this = Tensor(o);
  return *this;
}

namespace {
template <class T>
Tensor make_from(DType dtype, Shape shape, std::span<const T> values) {
  Tensor t(dtype, shape);
  if (int64_t(values.size()) != t.numel())
    throw ShapeError("tensor of shape " + shape.str() + " needs " + std::to_string(t.numel()) + " values, got " +
                     std::to_string(values.size()));
  if (t.bytes()) std::memcpy(t.raw(), values.data(), t.bytes());  // an empty span may hold null
  return t;
}
}  // namespace

Tensor Tensor::from_f32(Shape shape, std::span<const float> v) { return make_from(DType::F32, shape, v); }
Tensor Tensor::from_f64(Shape shape, std::span<const double> v) { return make_from(DType::F64, shape, v); }
Tensor Tensor::from_i32(Shape shape, std::span<const int32_t> v) { return make_from(DType::I32, shape, v); }

Tensor Tensor::scalar(DType dtype, double value) {
  Tensor t(dtype, Shape{});
  t.set(0, value);
  return t;
}

double Tensor::at(int64_t i) const {
  switch (dtype()) {
    case DType::F32: return data<float>()[i];
    case DType::F64: return data<double>()[i];
    case DType::I32: return data<int32_t>()[i];
  }
  return 0;
}

void Tensor::set(int64_t i, double v) {
  switch (dtype()) {
    case DType::F32: data<float>()[i] = float(v); break;
    case DType::F64: data<double>()[i] = v; break;
    case DType::I32: data<int32_t>()[i] = int32_t(v); break;
  }
}

Tensor Tensor::to(DType dtype) const {
  Tensor t(dtype, shape());
  for (int64_t i = 0; i < numel(); ++i) t.set(i, at(i));
  return t;
}

std::vector<double> Tensor::to_vector() const {
  std::vector<double> v(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i) v[size_t(i)] = at(i);
  return v;
}

}  // namespace loom
