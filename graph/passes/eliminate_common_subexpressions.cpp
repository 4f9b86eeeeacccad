// Pass eliminate_common_subexpressions: one node per distinct computation.
// Pre:  a verified program.
// Post: no two nodes have the same op, the same input values and equal attrs,
//       unless the op is kStateful (two dropouts draw two masks) or kLeaf
//       (inputs and parameters are distinct by name). Constants of at most
//       kSmallConstant elements with equal type and bytes are merged too.
//       The surviving node is the first; later twins are not copied, and
//       their consumers read the survivor. Outputs are remapped.
#include <cstring>
#include <map>
#include <optional>

#include "graph/passes/passes.hpp"
#include "graph/passes/rewrite.hpp"

namespace loom {
namespace {

// Larger constants are rarely duplicated and costly to compare.
constexpr int64_t kSmallConstant = 64;

using Key = std::pair<OpId, std::vector<Value>>;  // op and mapped inputs

bool same_constant(const Tensor& a, const Tensor& b) {
  return a.type() == b.type() && std::memcmp(a.raw(), b.raw(), a.bytes()) == 0;
}

// A node in the new graph equal to old node `id`, if one exists.
std::optional<NodeId> find_twin(const Graph& g, GraphRewriter& rw, std::map<Key, std::vector<NodeId>>& seen,
                                NodeId id) {
  const Node& n = g.node(id);
  const OpDef& def = op_def(n.op);
  bool small_constant = g.is_constant(id) && n.value && n.value->numel() <= kSmallConstant;
  if (def.has(kStateful) || (def.has(kLeaf) && !small_constant)) return std::nullopt;
  Key key{n.op, rw.mapped_inputs(id)};
  for (NodeId other : seen[key]) {
    const Node& o = rw.target().node(other);
    bool equal = small_constant ? same_constant(*o.value, *n.value) : o.attrs == n.attrs && o.outputs == n.outputs;
    if (equal) return other;
  }
  return std::nullopt;
}

}  // namespace

void run_eliminate_common_subexpressions(Program& program, const CompileOptions&) {
  const Graph& g = program.graph;
  GraphRewriter rw(g);
  std::map<Key, std::vector<NodeId>> seen;
  for (uint32_t id = 0; id < g.size(); ++id) {
    if (std::optional<NodeId> twin = find_twin(g, rw, seen, {id})) {
      std::vector<Value> values;
      for (uint32_t k = 0; k < g.node({id}).outputs.size(); ++k) values.push_back({*twin, k});
      rw.redirect({id}, std::move(values));
      continue;
    }
    NodeId fresh = rw.copy({id});
    const Node& n = g.node({id});
    if (!op_def(n.op).has(kStateful)) seen[{n.op, rw.target().node(fresh).inputs}].push_back(fresh);
  }
  program = rw.finish(program.outputs);
}

}  // namespace loom
