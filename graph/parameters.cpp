#include "graph/parameters.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "graph/errors.hpp"

namespace loom {

ParameterStore::ParameterStore(DType dtype)
    : dtype_(dtype), values_(aligned_alloc_bytes(0)), grads_(aligned_alloc_bytes(0)) {
  if (dtype == DType::I32) throw GraphError("parameters must be f32 or f64");
}

void ParameterStore::declare(const std::string& name, const Shape& shape) {
  if (auto it = index_.find(name); it != index_.end()) {
    const Entry& e = entries_[it->second];
    if (!(e.shape == shape))
      throw ShapeError("parameter '" + name + "' is declared as " + e.shape.str() + " and again as " + shape.str());
    return;
  }
  int64_t offset = capacity_;
  reserve(offset + (shape.numel() + 15) / 16 * 16);
  capacity_ = offset + (shape.numel() + 15) / 16 * 16;
  index_.emplace(name, entries_.size());
  entries_.push_back({name, shape, offset});
  ++version_;
  ++values_version_;
}

// Grows the buffers geometrically, so that declaring N parameters copies
// O(total size) bytes, not O(N * total size). Memory past capacity_ stays zero.
void ParameterStore::reserve(int64_t elements) {
  if (elements <= allocated_) return;
  int64_t grown = std::max(elements, allocated_ * 2);
  size_t esz = dtype_size(dtype_);
  AlignedBuffer v = aligned_alloc_bytes(size_t(grown) * esz), g = aligned_alloc_bytes(size_t(grown) * esz);
  std::memcpy(v.get(), values_.get(), size_t(capacity_) * esz);
  std::memcpy(g.get(), grads_.get(), size_t(capacity_) * esz);
  values_ = std::move(v);
  grads_ = std::move(g);
  allocated_ = grown;
}

void ParameterStore::declare_all(const Graph& g) {
  for (NodeId id : g.parameters()) {
    const Node& n = g.node(id);
    if (n.outputs[0].dtype != dtype_)
      throw GraphError("parameter " + g.describe(id) + " is " + n.outputs[0].str() + " but the store holds " +
                       std::string(dtype_name(dtype_)));
    declare(n.name, n.outputs[0].shape);
  }
}

bool ParameterStore::has(std::string_view name) const { return index_.find(name) != index_.end(); }

const ParameterStore::Entry& ParameterStore::entry(std::string_view name) const {
  if (auto it = index_.find(name); it != index_.end()) return entries_[it->second];
  throw GraphError("no parameter named '" + std::string(name) + "' in the parameter store");
}

std::byte* ParameterStore::start_of(const AlignedBuffer& buffer, const Entry& e) const {
  return buffer.get() + size_t(e.offset) * dtype_size(dtype_);
}

TensorRef ParameterStore::value(std::string_view name) {
  const Entry& e = entry(name);
  ++values_version_;
  return {start_of(values_, e), {dtype_, e.shape}};
}

ConstTensorRef ParameterStore::read_value(std::string_view name) const {
  const Entry& e = entry(name);
  return {start_of(values_, e), {dtype_, e.shape}};
}

bool ParameterStore::holds_value(const void* p) const {
  const std::byte* b = static_cast<const std::byte*>(p);
  return b >= values_.get() && b < values_.get() + size_t(capacity_) * dtype_size(dtype_);
}

TensorRef ParameterStore::grad(std::string_view name) {
  const Entry& e = entry(name);
  return {start_of(grads_, e), {dtype_, e.shape}};
}

void ParameterStore::fill_uniform(std::mt19937_64& rng, double scale) {
  std::uniform_real_distribution<double> u(-scale, scale);
  for (const Entry& e : entries_) {
    TensorRef r = value(e.name);
    for (int64_t i = 0; i < r.numel(); ++i) {
      double x = u(rng);
      if (dtype_ == DType::F32) r.ptr<float>()[i] = float(x);
      else r.ptr<double>()[i] = x;
    }
  }
}

void ParameterStore::zero_grads() { std::memset(grads_.get(), 0, size_t(capacity_) * dtype_size(dtype_)); }

std::vector<std::string> ParameterStore::nonfinite(bool gradients) const {
  auto finite = [](const auto* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(x[i])) return false;
    return true;
  };
  std::vector<std::string> bad;
  for (const Entry& e : entries_) {
    const std::byte* t = start_of(gradients ? grads_ : values_, e);
    const int64_t n = e.shape.numel();
    if (!(dtype_ == DType::F64 ? finite(reinterpret_cast<const double*>(t), n)
                               : finite(reinterpret_cast<const float*>(t), n)))
      bad.push_back(e.name);
  }
  return bad;
}

}  // namespace loom
