// The oneDNN engine and stream, handed to ops at plan time. Opaque outside
// ops/dnnl/ so that only that folder includes dnnl.hpp. An executor keeps one
// in its backend slot (PrepareCtx::backend), created by the first op that asks.
#pragma once
#include <memory>

#include "graph/op_def.hpp"

namespace loom {

class DnnlContext;
// A context of one's own (tests and benchmarks that drive Gemm directly).
std::shared_ptr<DnnlContext> make_dnnl_context();
// The executor's context; throws BackendError if its slot holds another backend.
DnnlContext& dnnl_context(const PrepareCtx& ctx);

}  // namespace loom
