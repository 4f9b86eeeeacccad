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

}  // namespace loom
