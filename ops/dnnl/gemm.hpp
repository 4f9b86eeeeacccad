// A row-major f32 GEMM bound to one oneDNN matmul primitive, created once at
// plan time for fixed sizes:  C = op(A) op(B)  (+ C when accumulate).
// run() allocates nothing: arguments are a pre-built C array and the
// scratchpad is owned here. Shapes: A (M,K) or (K,M) when trans_a;
// B (K,N) or (N,K) when trans_b; C (M,N); with batch > 1 each is a stack of
// `batch` contiguous matrices.
#pragma once
#include <cstdint>
#include <memory>

#include "ops/dnnl/context.hpp"

namespace loom {

struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  bool accumulate = false;
  int64_t batch = 1;
  // Leading dimensions (row strides, in elements); 0 = dense.
  int64_t lda = 0, ldb = 0, ldc = 0;
};

class Gemm {
 public:
  Gemm(DnnlContext& ctx, const GemmShape& shape);
  ~Gemm();
  Gemm(Gemm&&) noexcept;
  Gemm& operator=(Gemm&&) noexcept;

  void run(const float* a, const float* b, float* c) const;
  const GemmShape& shape() const { return shape_; }

 private:
  struct Impl;
  GemmShape shape_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom
