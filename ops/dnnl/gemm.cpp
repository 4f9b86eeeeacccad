#include "ops/dnnl/gemm.hpp"

#include <string>

#include "graph/errors.hpp"
#include "ops/dnnl/context_impl.hpp"

namespace loom {

namespace {

using dims = dnnl::memory::dims;
using dt = dnnl::memory::data_type;

// A row-major (rows, cols) matrix stored with row stride ld, optionally
// viewed transposed; batched matrices are `rows*ld` apart.
dnnl::memory::desc matrix_md(int64_t batch, int64_t rows, int64_t cols, int64_t ld, bool transposed) {
  int64_t stored_cols = transposed ? rows : cols;
  int64_t stride = ld ? ld : stored_cols;
  int64_t stored_rows = transposed ? cols : rows;
  dims strides2 = transposed ? dims{1, stride} : dims{stride, 1};
  if (batch == 1) return dnnl::memory::desc({rows, cols}, dt::f32, strides2);
  return dnnl::memory::desc({batch, rows, cols}, dt::f32, {stored_rows * stride, strides2[0], strides2[1]});
}

}  // namespace

struct Gemm::Impl {
  dnnl::matmul prim;
  dnnl::memory a, b, c, scratch;
  dnnl_exec_arg_t args[4];
  dnnl::stream* stream;
};

Gemm::Gemm(DnnlContext& ctx, const GemmShape& s) : shape_(s), impl_(std::make_unique<Impl>()) {
  try {
    auto a_md = matrix_md(s.batch, s.m, s.k, s.lda, s.trans_a);
    auto b_md = matrix_md(s.batch, s.k, s.n, s.ldb, s.trans_b);
    auto c_md = matrix_md(s.batch, s.m, s.n, s.ldc, false);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (s.accumulate) {
      dnnl::post_ops po;
      po.append_sum(1.0f);
      attr.set_post_ops(po);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr, ctx.engine);
    impl_->prim = dnnl::matmul(pd);
    impl_->a = dnnl::memory(a_md, ctx.engine, nullptr);
    impl_->b = dnnl::memory(b_md, ctx.engine, nullptr);
    impl_->c = dnnl::memory(c_md, ctx.engine, nullptr);
    impl_->scratch = dnnl::memory(pd.scratchpad_desc(), ctx.engine);
    impl_->args[0] = {DNNL_ARG_SRC, impl_->a.get()};
    impl_->args[1] = {DNNL_ARG_WEIGHTS, impl_->b.get()};
    impl_->args[2] = {DNNL_ARG_DST, impl_->c.get()};
    impl_->args[3] = {DNNL_ARG_SCRATCHPAD, impl_->scratch.get()};
    impl_->stream = &ctx.stream;
  } catch (const dnnl::error& e) {
    throw BackendError("oneDNN refused a matmul of M=" + std::to_string(s.m) + " N=" + std::to_string(s.n) +
                       " K=" + std::to_string(s.k) + " batch=" + std::to_string(s.batch) + ": " + e.what());
  }
}

Gemm::~Gemm() = default;
Gemm::Gemm(Gemm&&) noexcept = default;
Gemm& Gemm::operator=(Gemm&&) noexcept = default;

void Gemm::run(const float* a, const float* b, float* c) const {
  // The C API, because the C++ execute() builds a vector of arguments per call.
  dnnl_memory_set_data_handle(impl_->a.get(), const_cast<float*>(a));
  dnnl_memory_set_data_handle(impl_->b.get(), const_cast<float*>(b));
  dnnl_memory_set_data_handle(impl_->c.get(), c);
  dnnl_status_t st = dnnl_primitive_execute(impl_->prim.get(), impl_->stream->get(), 4, impl_->args);
  if (st != dnnl_success) throw BackendError("oneDNN matmul execution failed with status " + std::to_string(int(st)));
}

}  // namespace loom
