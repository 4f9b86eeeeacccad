#include "graph/builder.hpp"

#include "graph/errors.hpp"

namespace loom {

static Graph& common_graph(const std::vector<Var>& inputs, OpId op) {
  if (inputs.empty()) throw GraphError("op '" + op_def(op).name + "' built without inputs needs a graph");
  Graph* g = inputs[0].graph;
  for (const Var& v : inputs)
    if (v.graph != g)
      throw GraphError("op '" + op_def(op).name + "' mixes values from different graphs");
  return *g;
}

std::vector<Var> apply_multi(OpId op, const std::vector<Var>& inputs, Attrs attrs, std::string name,
                             std::source_location where) {
  Graph& g = common_graph(inputs, op);
  std::vector<Value> values;
  for (const Var& v : inputs) values.push_back(v.value);
  NodeId id = g.add(op, std::move(values), std::move(attrs), std::move(name), where);
  std::vector<Var> out;
  for (uint32_t i = 0; i < g.node(id).outputs.size(); ++i) out.push_back({&g, {id, i}});
  return out;
}

Var apply(OpId op, const std::vector<Var>& inputs, Attrs attrs, std::string name, std::source_location where) {
  return apply_multi(op, inputs, std::move(attrs), std::move(name), where)[0];
}

Var input(Graph& g, std::string name, TensorType type, std::source_location where) {
  return {&g, g.input(std::move(name), type, where)};
}
Var parameter(Graph& g, std::string name, TensorType type, std::source_location where) {
  return {&g, g.parameter(std::move(name), type, where)};
}
Var constant(Graph& g, Tensor value, std::string name, std::source_location where) {
  return {&g, g.constant(std::move(value), std::move(name), where)};
}
Var scalar_like(Var x, double value) { return constant(*x.graph, Tensor::scalar(x.dtype(), value)); }

Var named(Var v, std::string name) {
  v.graph->node(v.value.node).name = std::move(name);
  return v;
}

}  // namespace loom
