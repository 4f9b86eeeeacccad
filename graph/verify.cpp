#include "graph/verify.hpp"

#include "graph/errors.hpp"

namespace loom {

void verify(const Program& p, std::string_view after_pass) {
  const Graph& g = p.graph;
  std::string where = after_pass.empty() ? std::string() : " after pass '" + std::string(after_pass) + "'";
  auto fail = [&](uint32_t id, const std::string& what) {
    throw GraphError("verify" + where + ": node " + g.describe({id}) + ": " + what);
  };
  for (uint32_t id = 0; id < g.size(); ++id) {
    const Node& n = g.node({id});
    if (n.op >= registry().size()) fail(id, "unknown op id " + std::to_string(n.op));
    const OpDef& def = op_def(n.op);
    if (def.arity >= 0 && size_t(def.arity) != n.inputs.size())
      fail(id, "has " + std::to_string(n.inputs.size()) + " inputs, the op takes " + std::to_string(def.arity));
    std::vector<TensorType> in;
    for (const Value& v : n.inputs) {
      if (v.node.v >= id) fail(id, "reads node #" + std::to_string(v.node.v) + ", which is not earlier (a cycle?)");
      if (v.index >= g.node(v.node).outputs.size()) fail(id, "reads a missing output of #" + std::to_string(v.node.v));
      in.push_back(g.type(v));
    }
    if (def.has(kLeaf)) {
      if (g.is_constant({id}) && !n.value) fail(id, "is a constant without a value");
      continue;
    }
    std::vector<TensorType> again = def.infer(in, n.attrs);
    if (again != n.outputs) fail(id, "its recorded output types differ from its shape rule's");
  }
  for (const Value& v : p.outputs)
    if (v.node.v >= g.size() || v.index >= g.node(v.node).outputs.size())
      throw GraphError("verify" + where + ": an output refers to a missing value");
}

}  // namespace loom
