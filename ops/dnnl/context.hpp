// The oneDNN engine and stream, owned by an executor and handed to ops at
// plan time. Opaque outside ops/dnnl/ so that only that folder includes
// dnnl.hpp.
#pragma once
#include <memory>

namespace loom {

class DnnlContext;
std::shared_ptr<DnnlContext> make_dnnl_context();

}  // namespace loom
