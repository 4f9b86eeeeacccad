// Gemm: one oneDNN (v2 API) matmul primitive per fixed GEMM shape. Each
// operand is described by explicit strides, which covers transposed views,
// sub-matrices with a leading dimension and batched stacks in one rule; the
// memory objects carry no buffer and get the caller's pointers at run time.
// bf16 operands are dense copies (rounded rows of the stored matrices), so a
// strided f32 view costs no conversion of the rows it skips; they live in
// the context's staging buffers, shared by the Gemms of one executor.
#include "ops/dnnl/gemm.hpp"

#include <optional>
#include <string>

#include "graph/errors.hpp"
#include "ops/dnnl/bf16.hpp"
#include "ops/dnnl/context_impl.hpp"
#include "ops/one_thread.hpp"

namespace loom {

namespace {

using dims = dnnl::memory::dims;
using dt = dnnl::memory::data_type;

// The logical (rows, cols) operand of a product. It is stored row-major as
// (rows, cols), or as (cols, rows) when `transposed`, with row stride ld
// (0 = dense). Logical element (i, j) then lies at i*ld + j, or j*ld + i.
struct Operand {
  int64_t rows, cols, ld;
  bool transposed;

  int64_t stored_rows() const { return transposed ? cols : rows; }
  int64_t stored_cols() const { return transposed ? rows : cols; }
  int64_t row_stride() const { return ld ? ld : stored_cols(); }
  // The dense bf16 copy that a bf16 Gemm reads instead.
  Operand dense() const { return {rows, cols, 0, transposed}; }
};

}  // namespace

std::string describe(const GemmShape& s) {
  return "M=" + std::to_string(s.m) + " N=" + std::to_string(s.n) + " K=" + std::to_string(s.k) +
         " batch=" + std::to_string(s.batch) + " trans_a=" + std::to_string(s.trans_a) +
         " trans_b=" + std::to_string(s.trans_b) + " lda=" + std::to_string(s.lda) + " ldb=" + std::to_string(s.ldb) +
         " ldc=" + std::to_string(s.ldc) + " accumulate=" + std::to_string(s.accumulate) + " precision=" +
         std::string(precision_name(s.precision));
}

namespace {

void check_operand(const Operand& op, const char* name, const GemmShape& s) {
  if (op.ld != 0 && op.ld < op.stored_cols())
    throw BackendError(std::string("Gemm: ") + name + " = " + std::to_string(op.ld) +
                       " is smaller than the stored row length " + std::to_string(op.stored_cols()) + " (" +
                       describe(s) + ")");
}

// Strides of the logical view: (rows, cols) or (batch, rows, cols).
dnnl::memory::desc operand_md(const Operand& op, int64_t batch, dt type = dt::f32) {
  int64_t ld = op.row_stride();
  dims strides2 = op.transposed ? dims{1, ld} : dims{ld, 1};
  if (batch == 1) return dnnl::memory::desc({op.rows, op.cols}, type, strides2);
  return dnnl::memory::desc({batch, op.rows, op.cols}, type, {op.stored_rows() * ld, strides2[0], strides2[1]});
}

// Rounds every stored row of an operand (all batches: rows lie ld apart
// throughout, batch after batch) into its dense bf16 copy.
void round_operand(const Operand& op, int64_t batch, const float* src, std::byte* dst) {
  round_rows_to_bf16(src, batch * op.stored_rows(), op.stored_cols(), op.row_stride(),
                     reinterpret_cast<uint16_t*>(dst));
}

size_t bf16_copy_bytes(const Operand& op, int64_t batch) {
  return size_t(batch * op.rows * op.cols) * sizeof(uint16_t);
}

}  // namespace

struct Gemm::Impl {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  dnnl::memory a, b, c, scratch;
  dnnl_exec_arg_t args[4];
  int nargs = 0;
  dnnl_stream_t stream = nullptr;
  // bf16 only: the operands' shapes, and where their rounded copies go.
  Operand a_op{}, b_op{};
  Bf16Staging* staging = nullptr;
};

Gemm::Gemm(DnnlContext& ctx, const GemmShape& s) : shape_(s), impl_(std::make_unique<Impl>()) {
  if (s.m <= 0 || s.n <= 0 || s.k <= 0 || s.batch <= 0)
    throw BackendError("Gemm: every size must be positive (" + describe(s) + ")");
  Operand a{s.m, s.k, s.lda, s.trans_a}, b{s.k, s.n, s.ldb, s.trans_b}, c{s.m, s.n, s.ldc, false};
  check_operand(a, "lda", s);
  check_operand(b, "ldb", s);
  check_operand(c, "ldc", s);
  const bool bf16 = s.precision == MatmulPrecision::BF16;
  if (bf16) {
    if (std::string why = bf16_unsupported_reason(); !why.empty())
      throw BackendError("Gemm: " + why + " (" + describe(s) + ")");
    impl_->a_op = a;
    impl_->b_op = b;
    impl_->staging = &ctx.bf16_staging;
    ctx.bf16_staging.reserve(bf16_copy_bytes(a, s.batch), bf16_copy_bytes(b, s.batch));
  }
  try {
    auto a_md = bf16 ? operand_md(a.dense(), s.batch, dt::bf16) : operand_md(a, s.batch);
    auto b_md = bf16 ? operand_md(b.dense(), s.batch, dt::bf16) : operand_md(b, s.batch);
    auto c_md = operand_md(c, s.batch);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (s.accumulate) {  // dst = 1·dst + A·B
      dnnl::post_ops po;
      po.append_sum(1.0f);
      attr.set_post_ops(po);
    }
    Impl& im = *impl_;
    std::optional<OneThreadScope> one_thread;
    if (s.single_thread) one_thread.emplace();
    im.pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), attr, ctx.engine);
    im.prim = dnnl::matmul(im.pd);
    im.a = dnnl::memory(a_md, ctx.engine, DNNL_MEMORY_NONE);
    im.b = dnnl::memory(b_md, ctx.engine, DNNL_MEMORY_NONE);
    im.c = dnnl::memory(c_md, ctx.engine, DNNL_MEMORY_NONE);
    im.args[im.nargs++] = {DNNL_ARG_SRC, im.a.get()};
    im.args[im.nargs++] = {DNNL_ARG_WEIGHTS, im.b.get()};
    im.args[im.nargs++] = {DNNL_ARG_DST, im.c.get()};
    dnnl::memory::desc scratch_md = im.pd.scratchpad_desc();
    if (scratch_md.get_size() > 0) {  // allocated once, here, by oneDNN
      im.scratch = dnnl::memory(scratch_md, ctx.engine);
      im.args[im.nargs++] = {DNNL_ARG_SCRATCHPAD, im.scratch.get()};
    }
    im.stream = ctx.stream.get();
  } catch (const dnnl::error& e) {
    throw BackendError("oneDNN refused a matmul of " + describe(s) + ": " + e.what());
  }
}

Gemm::~Gemm() = default;
Gemm::Gemm(Gemm&&) noexcept = default;
Gemm& Gemm::operator=(Gemm&&) noexcept = default;

std::string Gemm::impl_name() const { return impl_->pd.impl_info_str(); }

void Gemm::run(const float* a, const float* b, float* c) const {
  Impl& im = *impl_;
  if (shape_.precision == MatmulPrecision::F32) return execute(a, b, c);
  Bf16Staging& st = *im.staging;
  round_operand(im.b_op, shape_.batch, b, st.b.get());
  st.b_owner = &im;
  st.b_source = b;
  round_operand(im.a_op, shape_.batch, a, st.a.get());
  execute(st.a.get(), st.b.get(), c);
}

void Gemm::run_same_b(const float* a, const float* b, float* c) const {
  Impl& im = *impl_;
  if (shape_.precision == MatmulPrecision::F32) return execute(a, b, c);
  Bf16Staging& st = *im.staging;
  LOOM_ASSERT(st.b_owner == &im && st.b_source == b,
              "Gemm::run_same_b: the staged B is not this Gemm's previous one (" + describe(shape_) + ")");
  round_operand(im.a_op, shape_.batch, a, st.a.get());
  execute(st.a.get(), st.b.get(), c);
}

void Gemm::execute(const void* a, const void* b, float* c) const {
  Impl& im = *impl_;
  dnnl_memory_set_data_handle(im.a.get(), const_cast<void*>(a));
  dnnl_memory_set_data_handle(im.b.get(), const_cast<void*>(b));
  dnnl_memory_set_data_handle(im.c.get(), c);
  execute_primitive(im.prim, im.stream, im.nargs, im.args, "oneDNN matmul execution", shape_);
}

}  // namespace loom
