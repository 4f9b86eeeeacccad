#include "graph/vjp.hpp"

#include "graph/errors.hpp"

namespace loom {

VjpCtx::VjpCtx(Graph& g, NodeId node, std::vector<std::optional<Var>> douts, std::vector<bool> needs,
               ZerosLike zeros_like)
    : g_(&g),
      id_(node),
      douts_(std::move(douts)),
      needs_(std::move(needs)),
      grads_(needs_.size()),
      zeros_like_(zeros_like) {}

Var VjpCtx::in(int i) const { return {g_, node().inputs.at(size_t(i))}; }
Var VjpCtx::out(int i) const { return {g_, {id_, uint32_t(i)}}; }

Var VjpCtx::dout(int i) {
  auto& d = douts_.at(size_t(i));
  if (!d) d = zeros_like_(out(i));
  return *d;
}

void VjpCtx::set(int i, Var grad) {
  LOOM_ASSERT(size_t(i) < grads_.size(), "gradient rule set input " + std::to_string(i) + " of " + g_->describe(id_));
  grads_[size_t(i)] = grad;
}

}  // namespace loom
