// PackedGemm: a oneDNN matmul whose weights descriptor is format_tag::any,
// plus the reorder primitive from the stored B into that format, both made
// once. Arguments are fixed arrays passed to the C API, so that a call builds
// no std::unordered_map (see Gemm::execute).
#include "ops/dnnl/packed_gemm.hpp"

#include "graph/errors.hpp"
#include "ops/dnnl/context_impl.hpp"

namespace loom {

namespace {

using dims = dnnl::memory::dims;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

}  // namespace

// Measured in bench/bench_packed_gemm.cpp: at M = 1..16 the packed brgemm
// kernel beats the gemm:jit driver at every decoding shape; at M = 64 the two
// are within noise, and the training step (M = batch·time) keeps Gemm anyway.
bool packed_gemm_suits(const GemmShape& s) {
  return s.precision == MatmulPrecision::F32 && s.batch == 1 && !s.trans_a && !s.accumulate && s.lda == 0 &&
         s.ldb == 0 && s.ldc == 0 && !s.single_thread && s.m <= 32;
}

struct PackedGemm::Impl {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  dnnl::reorder pack;
  dnnl::memory a, b_stored, b_packed, c, scratch;
  dnnl_exec_arg_t args[4];
  int nargs = 0;
  dnnl_stream_t stream = nullptr;
  bool packed = false;
};

PackedGemm::PackedGemm(DnnlContext& ctx, const GemmShape& s) : shape_(s), impl_(std::make_unique<Impl>()) {
  if (s.m <= 0 || s.n <= 0 || s.k <= 0)
    throw BackendError("PackedGemm: every size must be positive (" + describe(s) + ")");
  if (s.precision != MatmulPrecision::F32 || s.batch != 1 || s.trans_a || s.accumulate || s.lda || s.ldb || s.ldc)
    throw BackendError("PackedGemm: only dense f32 A·op(B) without batch or accumulation (" + describe(s) + ")");
  try {
    Impl& im = *impl_;
    dnnl::memory::desc a_md({s.m, s.k}, dt::f32, tag::ab), c_md({s.m, s.n}, dt::f32, tag::ab);
    dnnl::memory::desc b_stored_md({s.k, s.n}, dt::f32, s.trans_b ? tag::ba : tag::ab);
    dnnl::memory::desc b_any({s.k, s.n}, dt::f32, tag::any);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    im.pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_any, c_md), attr, ctx.engine);
    im.prim = dnnl::matmul(im.pd);
    im.a = dnnl::memory(a_md, ctx.engine, DNNL_MEMORY_NONE);
    im.c = dnnl::memory(c_md, ctx.engine, DNNL_MEMORY_NONE);
    im.b_stored = dnnl::memory(b_stored_md, ctx.engine, DNNL_MEMORY_NONE);
    im.b_packed = dnnl::memory(im.pd.weights_desc(), ctx.engine);  // allocated once, by oneDNN
    im.pack = dnnl::reorder(im.b_stored, im.b_packed);
    im.args[im.nargs++] = {DNNL_ARG_SRC, im.a.get()};
    im.args[im.nargs++] = {DNNL_ARG_WEIGHTS, im.b_packed.get()};
    im.args[im.nargs++] = {DNNL_ARG_DST, im.c.get()};
    if (dnnl::memory::desc scratch_md = im.pd.scratchpad_desc(); scratch_md.get_size() > 0) {
      im.scratch = dnnl::memory(scratch_md, ctx.engine);
      im.args[im.nargs++] = {DNNL_ARG_SCRATCHPAD, im.scratch.get()};
    }
    im.stream = ctx.stream.get();
  } catch (const dnnl::error& e) {
    throw BackendError("oneDNN refused a packed matmul of " + describe(s) + ": " + e.what());
  }
}

PackedGemm::~PackedGemm() = default;
PackedGemm::PackedGemm(PackedGemm&&) noexcept = default;
PackedGemm& PackedGemm::operator=(PackedGemm&&) noexcept = default;

std::string PackedGemm::impl_name() const { return impl_->pd.impl_info_str(); }

void PackedGemm::pack(const float* b) {
  Impl& im = *impl_;
  dnnl_memory_set_data_handle(im.b_stored.get(), const_cast<float*>(b));
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, im.b_stored.get()}, {DNNL_ARG_TO, im.b_packed.get()}};
  execute_primitive(im.pack, im.stream, 2, args, "oneDNN reorder of packed weights", shape_);
  im.packed = true;
}

void PackedGemm::run(const float* a, float* c) const {
  Impl& im = *impl_;
  if (!im.packed) throw BackendError("PackedGemm::run before pack() (" + describe(shape_) + ")");
  dnnl_memory_set_data_handle(im.a.get(), const_cast<float*>(a));
  dnnl_memory_set_data_handle(im.c.get(), c);
  execute_primitive(im.prim, im.stream, im.nargs, im.args, "oneDNN packed matmul", shape_);
}

}  // namespace loom
