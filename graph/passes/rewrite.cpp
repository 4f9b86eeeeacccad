// GraphRewriter (see rewrite.hpp): copy-in-order with an old -> new value map.
#include "graph/passes/rewrite.hpp"

#include "graph/errors.hpp"

namespace loom {

GraphRewriter::GraphRewriter(const Graph& source) : source_(&source), map_(source.size()) {}

Value GraphRewriter::map(Value old) const {
  const std::vector<Value>& values = map_.at(old.node.v);
  if (old.index >= values.size())
    throw GraphError("rewrite: value of node " + source_->describe(old.node) + " was dropped but is still used");
  return values[old.index];
}

std::vector<Value> GraphRewriter::mapped_inputs(NodeId old) const {
  std::vector<Value> out;
  for (const Value& v : source_->node(old).inputs) out.push_back(map(v));
  return out;
}

NodeId GraphRewriter::copy(NodeId id) {
  Node n = source_->node(id);
  n.inputs = mapped_inputs(id);
  uint32_t outputs = uint32_t(n.outputs.size());
  NodeId fresh = target_.add_node(std::move(n));
  std::vector<Value> values;
  for (uint32_t k = 0; k < outputs; ++k) values.push_back({fresh, k});
  map_[id.v] = std::move(values);
  return fresh;
}

NodeId GraphRewriter::append(Node node) { return target_.add_node(std::move(node)); }

void GraphRewriter::redirect(NodeId id, std::vector<Value> values) {
  LOOM_ASSERT(values.size() == source_->node(id).outputs.size(), "redirect: one value per output");
  map_[id.v] = std::move(values);
}

Program GraphRewriter::finish(const std::vector<Value>& old_outputs) {
  Program p;
  for (const Value& v : old_outputs) p.outputs.push_back(map(v));
  p.graph = std::move(target_);
  return p;
}

std::vector<char> reaching(const Graph& g, const std::vector<Value>& roots) {
  std::vector<char> live(g.size(), 0);
  for (const Value& v : roots)
    if (v.node.v < g.size()) live[v.node.v] = 1;
  // Ids are topological, so one backward sweep finds every ancestor.
  for (uint32_t id = uint32_t(g.size()); id-- > 0;)
    if (live[id])
      for (const Value& in : g.node({id}).inputs) live[in.node.v] = 1;
  return live;
}

}  // namespace loom
