// A GEMM whose result does not depend on the OpenMP thread count, for
// deterministic plans (CompileOptions::deterministic, `loom train
// --deterministic`). oneDNN's matmul may choose its kernel, its blocking and
// a split of K from the number of threads, so the same product can round
// differently on 1 and on 2 threads. Here the output is cut into fixed blocks
// chosen from the shape alone; each block is one oneDNN matmul created for a
// single thread and run single-threaded (oneDNN runs sequentially inside an
// active OpenMP region), with the whole K, from Loom's own parallel loop.
// Every element is then summed by the same kernel in the same order whatever
// the number of threads. Shapes and leading dimensions as GemmShape.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "ops/dnnl/gemm.hpp"

namespace loom {

class BlockedGemm {
 public:
  // Output blocks of at most kBlockRows x kBlockCols (of C, per batch entry).
  static constexpr int64_t kBlockRows = 128, kBlockCols = 128;
  // Products of fewer multiply-adds (M·N·K·batch) run their blocks on the calling thread.
  static constexpr int64_t kParallelWork = int64_t(1) << 21;

  // Throws BackendError as Gemm does.
  BlockedGemm(DnnlContext& ctx, const GemmShape& shape);
  void run(const float* a, const float* b, float* c) const;
  const GemmShape& shape() const { return shape_; }
  std::string impl_name() const;
  size_t blocks() const { return blocks_.size(); }

 private:
  struct Block {
    Gemm gemm;  // one per block: a Gemm binds its operands' addresses while it runs
    int64_t a_offset, b_offset, c_offset;
  };
  GemmShape shape_;
  std::vector<Block> blocks_;
  bool parallel_ = false;  // from the shape alone, like the blocks
};

// What a plan step holds: a Gemm, or a BlockedGemm when the context was made
// for a deterministic plan.
class StepGemm {
 public:
  StepGemm(DnnlContext& ctx, const GemmShape& shape);
  ~StepGemm();
  StepGemm(StepGemm&&) noexcept;
  StepGemm& operator=(StepGemm&&) noexcept;

  void run(const float* a, const float* b, float* c) const;
  std::string impl_name() const;

 private:
  std::unique_ptr<Gemm> plain_;
  std::unique_ptr<BlockedGemm> blocked_;
};

}  // namespace loom
