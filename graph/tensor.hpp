// Value types shared by every layer: DType, Shape (at most 4 dims, inline),
// TensorType, the non-owning views TensorRef and ConstTensorRef, and Tensor,
// which owns 64-byte aligned storage. Shapes are row-major; dims are int64_t.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace loom {

enum class DType : uint8_t { F32, F64, I32 };

std::string_view dtype_name(DType t);
size_t dtype_size(DType t);

constexpr int kMaxRank = 4;
constexpr size_t kAlignment = 64;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(std::span<const int64_t> dims);

  int rank() const { return rank_; }
  int64_t operator[](int axis) const { return dims_[axis]; }
  int64_t& operator[](int axis) { return dims_[axis]; }
  // Negative axes count from the end, as in Python.
  int64_t dim(int axis) const { return dims_[normalize_axis(axis)]; }
  int normalize_axis(int axis) const;
  int64_t numel() const;
  std::span<const int64_t> dims() const { return {dims_.data(), size_t(rank_)}; }
  std::vector<int64_t> strides() const;  // row-major, in elements
  void push_back(int64_t d);
  bool operator==(const Shape& o) const;
  std::string str() const;  // "[2,3]"

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

struct TensorType {
  DType dtype = DType::F32;
  Shape shape;
  bool operator==(const TensorType& o) const { return dtype == o.dtype && shape == o.shape; }
  size_t bytes() const { return size_t(shape.numel()) * dtype_size(dtype); }
  std::string str() const;  // "f32[2,3]"
};

// A view of memory owned elsewhere (an arena slot, a Tensor).
struct TensorRef {
  void* data = nullptr;
  TensorType type;
  template <class T> T* ptr() const { return static_cast<T*>(data); }
  int64_t numel() const { return type.shape.numel(); }
  const Shape& shape() const { return type.shape; }
  DType dtype() const { return type.dtype; }
};

// A read-only view, for readers that must neither change what they look at
// nor count as writers (ParameterStore::read_value). A TensorRef converts to
// it as a T* converts to a const T*.
struct ConstTensorRef {
  const void* data = nullptr;
  TensorType type;
  ConstTensorRef() = default;
  ConstTensorRef(const void* d, TensorType t) : data(d), type(t) {}
  ConstTensorRef(const TensorRef& r) : data(r.data), type(r.type) {}  // implicit on purpose
  template <class T> const T* ptr() const { return static_cast<const T*>(data); }
  int64_t numel() const { return type.shape.numel(); }
  const Shape& shape() const { return type.shape; }
  DType dtype() const { return type.dtype; }
};

struct AlignedFree {
  void operator()(void* p) const;
};
using AlignedBuffer = std::unique_ptr<std::byte[], AlignedFree>;
// Zero-filled, 64-byte aligned; a request of 0 bytes still returns a valid pointer.
AlignedBuffer aligned_alloc_bytes(size_t bytes);

// Owns its storage. Copies are deep.
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(TensorType type);
  Tensor(DType dtype, Shape shape) : Tensor(TensorType{dtype, shape}) {}
  Tensor(const Tensor& o);
  Tensor& operator=(const Tensor& o);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;

  static Tensor from_f32(Shape shape, std::span<const float> values);
  static Tensor from_f64(Shape shape, std::span<const double> values);
  static Tensor from_i32(Shape shape, std::span<const int32_t> values);
  static Tensor scalar(DType dtype, double value);

  const TensorType& type() const { return type_; }
  const Shape& shape() const { return type_.shape; }
  DType dtype() const { return type_.dtype; }
  int64_t numel() const { return type_.shape.numel(); }
  size_t bytes() const { return type_.bytes(); }
  void* raw() { return data_.get(); }
  const void* raw() const { return data_.get(); }
  template <class T> T* data() { return reinterpret_cast<T*>(data_.get()); }
  template <class T> const T* data() const { return reinterpret_cast<const T*>(data_.get()); }
  TensorRef ref() { return {raw(), type_}; }
  TensorRef ref() const { return {const_cast<void*>(raw()), type_}; }

  // Element i converted to double, whatever the dtype (tests, printing).
  double at(int64_t i) const;
  void set(int64_t i, double v);
  Tensor to(DType dtype) const;
  std::vector<double> to_vector() const;

 private:
  TensorType type_;
  AlignedBuffer data_;
};

}  // namespace loom
