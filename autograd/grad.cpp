#include "autograd/grad.hpp"

#include "graph/errors.hpp"
#include "graph/vjp.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"
#include "ops/shape_ops.hpp"

namespace loom {

Var reduce_to_shape(Var g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const Shape& gs = g.shape();
  int lead = gs.rank() - shape.rank();
  if (lead < 0) throw ShapeError("gradient of shape " + gs.str() + " cannot reduce to " + shape.str());
  std::vector<int64_t> axes;
  for (int i = 0; i < gs.rank(); ++i) {
    if (i < lead) axes.push_back(i);
    else if (shape[i - lead] == 1 && gs[i] != 1) axes.push_back(i);
    else if (shape[i - lead] != gs[i])
      throw ShapeError("gradient of shape " + gs.str() + " cannot reduce to " + shape.str());
  }
  Var r = axes.empty() ? g : ops::sum(g, axes, false);
  std::vector<int64_t> dims(shape.dims().begin(), shape.dims().end());
  return r.shape() == shape ? r : ops::reshape(r, dims);
}

namespace {

// nodes[i] lies on a path from a wrt value to loss.
std::vector<char> nodes_on_path(const Graph& g, NodeId loss, const std::vector<Var>& wrt) {
  std::vector<char> from_wrt(loss.v + 1, 0), to_loss(loss.v + 1, 0);
  for (const Var& w : wrt)
    if (w.value.node.v <= loss.v) from_wrt[w.value.node.v] = 1;
  for (uint32_t id = 0; id <= loss.v; ++id)
    for (const Value& in : g.node({id}).inputs)
      if (from_wrt[in.node.v]) from_wrt[id] = 1;
  to_loss[loss.v] = 1;
  for (uint32_t id = loss.v + 1; id-- > 0;)
    if (to_loss[id])
      for (const Value& in : g.node({id}).inputs) to_loss[in.node.v] = 1;
  std::vector<char> on(loss.v + 1);
  for (uint32_t id = 0; id <= loss.v; ++id) on[id] = from_wrt[id] && to_loss[id];
  return on;
}

void accumulate(std::optional<Var>& slot, Var g) { slot = slot ? ops::add(*slot, g) : g; }

void backprop_node(Graph& g, NodeId id, const std::vector<char>& on_path,
                   std::vector<std::vector<std::optional<Var>>>& adj) {
  const OpDef& def = op_def(g.node(id).op);
  if (def.has(kNonDifferentiable))
    throw GraphError("cannot differentiate through node " + g.describe(id) + ": " + def.why_no_grad);
  std::vector<Value> inputs = g.node(id).inputs;
  std::vector<bool> needs;
  for (const Value& in : inputs) needs.push_back(on_path[in.node.v] != 0);
  VjpCtx ctx(g, id, adj[id.v], needs, &ops::zeros_like);
  def.vjp(ctx);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!needs[i]) continue;
    const auto& gi = ctx.grads()[i];
    if (!gi)
      throw GraphError("the gradient rule of '" + def.name + "' gave no gradient for input " + std::to_string(i) +
                       " of node " + g.describe(id));
    const TensorType& want = g.type(inputs[i]);
    Var reduced = reduce_to_shape(*gi, want.shape);
    accumulate(adj[inputs[i].node.v][inputs[i].index], reduced);
  }
}

}  // namespace

std::vector<Var> grad(Var loss, const std::vector<Var>& wrt) {
  Graph& g = *loss.graph;
  if (loss.shape().numel() != 1)
    throw ShapeError("grad needs a scalar loss, got " + loss.type().str() + " from node " + g.describe(loss.value.node));
  for (const Var& w : wrt) {
    if (w.graph != &g) throw GraphError("grad: a wrt value belongs to another graph");
    if (w.dtype() == DType::I32)
      throw GraphError("grad: cannot differentiate with respect to integer node " + g.describe(w.value.node));
  }
  NodeId root = loss.value.node;
  std::vector<char> on_path = nodes_on_path(g, root, wrt);
  std::vector<std::vector<std::optional<Var>>> adj(root.v + 1);
  for (uint32_t id = 0; id <= root.v; ++id) adj[id].resize(g.node({id}).outputs.size());
  adj[root.v][loss.value.index] = ops::fill(g, loss.type(), 1.0);

  for (uint32_t id = root.v + 1; id-- > 0;) {
    if (!on_path[id] || op_def(g.node({id}).op).has(kLeaf)) continue;
    bool any = false;
    for (auto& a : adj[id]) any = any || a.has_value();
    if (any) backprop_node(g, {id}, on_path, adj);
  }
  std::vector<Var> out;
  for (const Var& w : wrt) {
    const auto& a = w.value.node.v <= root.v ? adj[w.value.node.v][w.value.index] : std::nullopt;
    out.push_back(a ? *a : ops::zeros_like(w));
  }
  return out;
}

}  // namespace loom
