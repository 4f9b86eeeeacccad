#include "ops/dnnl/context_impl.hpp"

namespace loom {

std::shared_ptr<DnnlContext> make_dnnl_context() { return std::make_shared<DnnlContext>(); }

}  // namespace loom
