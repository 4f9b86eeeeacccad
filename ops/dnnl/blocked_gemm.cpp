// BlockedGemm: fixed output blocks, each a single-threaded oneDNN matmul over
// the whole K; see blocked_gemm.hpp for why.
#include "ops/dnnl/blocked_gemm.hpp"

#include <omp.h>

#include <algorithm>
#include <exception>

#include "graph/errors.hpp"
#include "ops/dnnl/context_impl.hpp"
#include "ops/one_thread.hpp"

namespace loom {

namespace {

// Dense leading dimensions made explicit, so that a block keeps its parent's strides.
GemmShape with_explicit_strides(GemmShape s) {
  if (!s.lda) s.lda = s.trans_a ? s.m : s.k;
  if (!s.ldb) s.ldb = s.trans_b ? s.k : s.n;
  if (!s.ldc) s.ldc = s.n;
  return s;
}

}  // namespace

BlockedGemm::BlockedGemm(DnnlContext& ctx, const GemmShape& shape) : shape_(shape) {
  if (shape.m <= 0 || shape.n <= 0 || shape.k <= 0 || shape.batch <= 0)
    throw BackendError("BlockedGemm: every size must be positive (M=" + std::to_string(shape.m) +
                       " N=" + std::to_string(shape.n) + " K=" + std::to_string(shape.k) +
                       " batch=" + std::to_string(shape.batch) + ")");
  const GemmShape s = with_explicit_strides(shape);
  // Matrix strides of a batch entry, in elements.
  const int64_t a_matrix = (s.trans_a ? s.k : s.m) * s.lda, b_matrix = (s.trans_b ? s.n : s.k) * s.ldb,
                c_matrix = s.m * s.ldc;
  parallel_ = s.batch * s.m * s.n * s.k >= kParallelWork && (s.batch > 1 || s.m > kBlockRows || s.n > kBlockCols);
  for (int64_t bi = 0; bi < s.batch; ++bi)
    for (int64_t i0 = 0; i0 < s.m; i0 += kBlockRows)
      for (int64_t j0 = 0; j0 < s.n; j0 += kBlockCols) {
        GemmShape part = s;
        part.batch = 1;
        part.single_thread = true;  // the same block whatever the caller's thread count
        part.m = std::min(kBlockRows, s.m - i0);
        part.n = std::min(kBlockCols, s.n - j0);
        const int64_t a_off = bi * a_matrix + (s.trans_a ? i0 : i0 * s.lda);
        const int64_t b_off = bi * b_matrix + (s.trans_b ? j0 * s.ldb : j0);
        blocks_.push_back({Gemm(ctx, part), a_off, b_off, bi * c_matrix + i0 * s.ldc + j0});
      }
}

void BlockedGemm::run(const float* a, const float* b, float* c) const {
  const int64_t n = int64_t(blocks_.size());
  auto run_block = [&](int64_t t) {
    const Block& blk = blocks_[size_t(t)];
    blk.gemm.run(a + blk.a_offset, b + blk.b_offset, c + blk.c_offset);
  };
  if (!parallel_) {  // a team per small product costs more than it saves
    OneThreadScope one_thread;  // oneDNN reads the count again when it runs outside a team
    for (int64_t t = 0; t < n; ++t) run_block(t);
    return;
  }
  // No `if` clause: a team of one is inactive, and oneDNN would then read
  // the caller's thread count inside it; a team of several is active, and
  // oneDNN runs each block on its own thread. An exception must not leave
  // the region: the first is kept and thrown after it.
  std::exception_ptr failure;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < n; ++t) {
    try {
      run_block(t);
    } catch (...) {
#pragma omp critical(loom_blocked_gemm_failure)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

std::string BlockedGemm::impl_name() const {
  return blocks_.empty() ? "" : "blocked:" + blocks_.front().gemm.impl_name();
}

StepGemm::StepGemm(DnnlContext& ctx, const GemmShape& shape) {
  // A one-thread product is deterministic as it is: its caller fixed the split.
  if (ctx.deterministic && !shape.single_thread) blocked_ = std::make_unique<BlockedGemm>(ctx, shape);
  else plain_ = std::make_unique<Gemm>(ctx, shape);
}

StepGemm::~StepGemm() = default;
StepGemm::StepGemm(StepGemm&&) noexcept = default;
StepGemm& StepGemm::operator=(StepGemm&&) noexcept = default;

void StepGemm::run(const float* a, const float* b, float* c) const {
  if (blocked_) blocked_->run(a, b, c);
  else plain_->run(a, b, c);
}

void StepGemm::run_same_b(const float* a, const float* b, float* c) const {
  if (blocked_) blocked_->run(a, b, c);
  else plain_->run_same_b(a, b, c);
}

std::string StepGemm::impl_name() const { return blocked_ ? blocked_->impl_name() : plain_->impl_name(); }

}  // namespace loom
