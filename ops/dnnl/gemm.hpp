// A row-major f32 GEMM bound to one oneDNN matmul primitive, created once at
// plan time for fixed sizes:  C = op(A) op(B)  (+ C when accumulate).
// run() builds nothing of ours: arguments are a pre-built C array and the
// scratchpad is owned here (user scratchpad mode). oneDNN 2.6 itself still
// allocates inside execute (its argument map, ~5 operator new per call, and
// the gemm:jit driver's packing buffers, ~1 posix_memalign per thread per
// matrix); the public API offers no way around that. Shapes: A (M,K) or (K,M) when trans_a;
// B (K,N) or (N,K) when trans_b; C (M,N). Leading dimensions are the row
// strides of the matrices as stored (before op()), so a sub-matrix of a wider
// buffer (one gate block of an LSTM weight) is lda/ldb/ldc > its width. With
// batch > 1 each operand is a stack of `batch` matrices, `stored rows × ld`
// elements apart.
// With precision BF16 the primitive reads bf16 copies of A and B, which run()
// rounds into dense buffers of the context (shared by its Gemms, so the
// context must outlive them), and accumulates and writes C in f32
// (oneDNN 2.6's fpmath_mode::bf16 leaves its CPU matmul in f32, so the
// operands are converted explicitly). Constructing one throws BackendError
// on a CPU without AVX512-BF16 or AMX.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "graph/precision.hpp"
#include "ops/dnnl/context.hpp"

namespace loom {

struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  bool accumulate = false;  // C += op(A) op(B) instead of C = ...
  int64_t batch = 1;
  // Leading dimensions (row strides of the stored matrices, in elements); 0 = dense.
  int64_t lda = 0, ldb = 0, ldc = 0;
  MatmulPrecision precision = MatmulPrecision::F32;
  // One thread's share of a parallel loop of Loom's own: the primitive is
  // made for one thread, whatever the caller's OpenMP setting, and run from
  // inside an active parallel region (where oneDNN runs sequentially) or
  // under a OneThreadScope (ops/one_thread.hpp).
  bool single_thread = false;
};

// "M=.. N=.. K=.. batch=.. ...": every field, for error messages.
std::string describe(const GemmShape& shape);

class Gemm {
 public:
  // Throws BackendError if the shape is invalid or oneDNN refuses it.
  Gemm(DnnlContext& ctx, const GemmShape& shape);
  ~Gemm();
  Gemm(Gemm&&) noexcept;
  Gemm& operator=(Gemm&&) noexcept;

  // a, b, c point at the first element of the (first) stored matrix.
  void run(const float* a, const float* b, float* c) const;
  // The same, where B holds the values it held in this Gemm's previous run
  // and no other Gemm of the context ran since: bf16 reuses its rounded copy
  // (an LSTM's W_hh across the time steps).
  void run_same_b(const float* a, const float* b, float* c) const;
  const GemmShape& shape() const { return shape_; }
  // oneDNN's name for the implementation it chose (benchmarks, `loom explain`).
  std::string impl_name() const;

 private:
  struct Impl;
  void execute(const void* a, const void* b, float* c) const;
  GemmShape shape_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom
