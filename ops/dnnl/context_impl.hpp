// The definition of DnnlContext, for files under ops/dnnl/ only.
#pragma once
#include <dnnl.hpp>

#include "ops/dnnl/context.hpp"

namespace loom {

class DnnlContext final : public BackendContext {
 public:
  DnnlContext() : engine(dnnl::engine::kind::cpu, 0), stream(engine) {}
  dnnl::engine engine;
  dnnl::stream stream;
  bool deterministic = false;  // matrix products of the plan being prepared are StepGemm's blocked kind
};

}  // namespace loom
