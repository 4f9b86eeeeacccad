// One transient arena for executors that never run at the same time, such as
// a model's training plans for different batch shapes: the memory is the
// largest plan's, not the sum of all of them (a translator trained on real
// data compiles a plan per padded shape, twenty or more). Making room for a
// larger plan moves the memory; executors bound to the old memory see the
// generation change and bind again before their next run.
#pragma once
#include <cstddef>
#include <cstdint>

#include "graph/tensor.hpp"

namespace loom {

class SharedArena {
 public:
  // Grows to at least `bytes` (never shrinks); a move bumps the generation.
  void reserve(size_t bytes) {
    if (bytes <= bytes_) return;
    memory_ = aligned_alloc_bytes(bytes);
    bytes_ = bytes;
    ++generation_;
  }
  std::byte* data() const { return memory_.get(); }
  size_t bytes() const { return bytes_; }
  uint64_t generation() const { return generation_; }

 private:
  AlignedBuffer memory_;
  size_t bytes_ = 0;
  uint64_t generation_ = 0;
};

}  // namespace loom
