// The definition of DnnlContext, for files under ops/dnnl/ only.
#pragma once
#include <dnnl.hpp>

#include "graph/tensor.hpp"
#include "ops/dnnl/context.hpp"
#include "ops/dnnl/gemm.hpp"

namespace loom {

// The rounded operands of bf16 Gemms. An executor runs one step at a time,
// so all its Gemms share one buffer per operand, sized at plan time for the
// largest; one copy per Gemm would hold the output layer's gradient several
// times over in every cached plan. b_owner is the Gemm (its Impl) whose B
// the b buffer holds, from b_source: Gemm::run_same_b may reuse it only then.
struct Bf16Staging {
  AlignedBuffer a, b;
  size_t a_bytes = 0, b_bytes = 0;
  const void* b_owner = nullptr;
  const float* b_source = nullptr;

  void reserve(size_t need_a, size_t need_b) {
    if (need_a > a_bytes) a = aligned_alloc_bytes(a_bytes = need_a);
    if (need_b > b_bytes) b = aligned_alloc_bytes(b_bytes = need_b);
  }
};

class DnnlContext final : public BackendContext {
 public:
  DnnlContext() : engine(dnnl::engine::kind::cpu, 0), stream(engine) {}
  dnnl::engine engine;
  dnnl::stream stream;
  bool deterministic = false;  // matrix products of the plan being prepared are StepGemm's blocked kind
  Bf16Staging bf16_staging;
};

// Runs a primitive through the C API with a fixed argument array (the C++
// execute() builds a std::unordered_map per call); a failure throws
// BackendError naming `what`, the status and the product's shape.
void execute_primitive(const dnnl::primitive& prim, dnnl_stream_t stream, int nargs, const dnnl_exec_arg_t* args,
                       const char* what, const GemmShape& shape);

}  // namespace loom
