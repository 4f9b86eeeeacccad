#include <string>

#include "graph/errors.hpp"
#include "ops/dnnl/context_impl.hpp"

namespace loom {

std::shared_ptr<DnnlContext> make_dnnl_context() { return std::make_shared<DnnlContext>(); }

DnnlContext& dnnl_context(const PrepareCtx& ctx) {
  if (!ctx.backend) ctx.backend = std::make_unique<DnnlContext>();
  auto* dnnl = dynamic_cast<DnnlContext*>(ctx.backend.get());
  if (!dnnl) throw BackendError("the executor's backend slot holds a context that is not oneDNN's");
  dnnl->deterministic = ctx.deterministic;
  return *dnnl;
}

void execute_primitive(const dnnl::primitive& prim, dnnl_stream_t stream, int nargs, const dnnl_exec_arg_t* args,
                       const char* what, const GemmShape& shape) {
  dnnl_status_t st = dnnl_primitive_execute(prim.get(), stream, nargs, args);
  if (st != dnnl_success)
    throw BackendError(std::string(what) + " failed with status " + std::to_string(int(st)) + " (" +
                       describe(shape) + ")");
}

}  // namespace loom
