// An f32 product C = A·op(B) whose B is a fixed matrix (a model parameter)
// read by many calls with few rows of A: the decoding step's products, M = 1
// for greedy, the beam width for beam search. A plain Gemm (gemm.hpp) hands
// oneDNN 2.6's gemm:jit the row-major B, and that driver packs B again and
// allocates its packing buffers on every call; at M = 1 this costs more than
// the product. Here the primitive chooses B's memory format itself
// (format_tag::any), pack() reorders B into it once, and run() executes on
// the packed copy with a scratchpad owned here. Whoever holds a PackedGemm
// calls pack() again whenever B's values change (ops/matmul.cpp does so from
// the parameter store's values_version). Shapes: A (M,K) dense, B (K,N) or
// (N,K) when trans_b, dense; C (M,N) dense; no batch, no accumulate.
#pragma once
#include <memory>
#include <string>

#include "ops/dnnl/gemm.hpp"

namespace loom {

class PackedGemm {
 public:
  // Throws BackendError for a shape outside the above, or if oneDNN refuses it.
  PackedGemm(DnnlContext& ctx, const GemmShape& shape);
  ~PackedGemm();
  PackedGemm(PackedGemm&&) noexcept;
  PackedGemm& operator=(PackedGemm&&) noexcept;

  // Copies B into the packed format; allocates nothing (the copy is sized at construction).
  void pack(const float* b);
  // C = A·op(B) with the B of the last pack(); throws BackendError if never packed.
  void run(const float* a, float* c) const;
  const GemmShape& shape() const { return shape_; }
  std::string impl_name() const;

 private:
  struct Impl;
  GemmShape shape_;
  std::unique_ptr<Impl> impl_;
};

// Whether a product of this shape is run through PackedGemm when its B is a
// parameter of a plan compiled with CompileOptions::pack_parameter_weights.
bool packed_gemm_suits(const GemmShape& shape);

}  // namespace loom
