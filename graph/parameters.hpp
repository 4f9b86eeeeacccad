// ParameterStore: every trainable tensor of a model in one flat, 64-byte
// aligned buffer, and their gradients in a second buffer with the same layout,
// so that clipping and optimiser updates are single passes over memory.
// Executors bind pointers into it; declaring a new parameter afterwards
// changes the layout version and such executors refuse to run.
#pragma once
#include <cstdint>
#include <random>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.hpp"

namespace loom {

class ParameterStore {
 public:
  struct Entry {
    std::string name;
    Shape shape;
    int64_t offset;  // in elements, a multiple of 16
  };

  explicit ParameterStore(DType dtype = DType::F32);

  // Adds a parameter (zero-filled); declaring an existing name with the same
  // shape does nothing, with another shape throws ShapeError.
  void declare(const std::string& name, const Shape& shape);
  // Declares every parameter node of g.
  void declare_all(const Graph& g);

  bool has(std::string_view name) const;
  const Entry& entry(std::string_view name) const;  // throws GraphError naming the missing parameter
  TensorRef value(std::string_view name);  // a write access: see values_data()
  // A read access: it does not bump values_version, so saving, checking or
  // binding the values keeps packed copies of them valid.
  ConstTensorRef read_value(std::string_view name) const;
  TensorRef grad(std::string_view name);
  const std::vector<Entry>& entries() const { return entries_; }

  DType dtype() const { return dtype_; }
  int64_t numel() const { return capacity_; }  // including alignment padding (kept zero)
  // Write access to the values: value() and values_data() count as writes
  // (they bump values_version), so a copy made of the values, such as packed
  // weights (ops/dnnl/packed_gemm.hpp), knows to refresh itself. Take the
  // access again for each round of writes rather than keeping the pointer.
  void* values_data() {
    ++values_version_;
    return values_.get();
  }
  // The values for reading, without counting as a write.
  const void* read_values_data() const { return values_.get(); }
  void* grads_data() { return grads_.get(); }
  uint64_t layout_version() const { return version_; }
  // Changes whenever the values may have changed (see values_data()).
  uint64_t values_version() const { return values_version_; }
  // Whether p points into the values buffer.
  bool holds_value(const void* p) const;

  // Uniform(-scale, scale) for every parameter, in declaration order.
  void fill_uniform(std::mt19937_64& rng, double scale);
  void zero_grads();

  // Names of the parameters whose values (or gradients) hold a NaN or an
  // infinity, in declaration order. Only reads.
  std::vector<std::string> nonfinite(bool gradients = false) const;

 private:
  DType dtype_;
  std::vector<Entry> entries_;
  void reserve(int64_t elements);
  // Where entry e starts in `buffer` (values_ or grads_).
  std::byte* start_of(const AlignedBuffer& buffer, const Entry& e) const;

  // Name -> position in entries_; std::less<> finds string_views without a copy.
  std::map<std::string, size_t, std::less<>> index_;
  int64_t capacity_ = 0;   // elements in use
  int64_t allocated_ = 0;  // elements the buffers hold
  AlignedBuffer values_, grads_;
  uint64_t version_ = 0;
  uint64_t values_version_ = 0;
};

}  // namespace loom
