// Pass fuse_elementwise: turns chains of elementwise ops into one
// "fused_elementwise" node that runs them block by block in cache
// (ops/fused_elementwise.cpp), so intermediates never reach memory.
// Pre:  a verified program, after differentiation (the fused op has no gradient).
// Post: every group of ≥2 fusible nodes (kElementwise with block functions for
//       the dtype, not kStateful, no attrs, one output) in which each value
//       passed between members has exactly one consumer node and is not a
//       program output, and every operand and result has the group result's
//       shape or one element, is one node at the position of the group's last
//       member (its root). Its attrs hold the program (fused_program.hpp), its
//       name lists the members outermost first ("tanh∘add∘mul").
#include <algorithm>

#include "graph/passes/fused_program.hpp"
#include "graph/passes/passes.hpp"
#include "graph/passes/rewrite.hpp"

namespace loom {
namespace {

struct Uses {
  std::vector<uint32_t> consumers;  // distinct consumer nodes per node
  std::vector<char> is_output;
};

Uses count_uses(const Program& p) {
  const Graph& g = p.graph;
  Uses u{std::vector<uint32_t>(g.size(), 0), std::vector<char>(g.size(), 0)};
  for (uint32_t id = 0; id < g.size(); ++id) {
    std::vector<uint32_t> seen;
    for (const Value& v : g.node({id}).inputs)
      if (std::find(seen.begin(), seen.end(), v.node.v) == seen.end()) {
        seen.push_back(v.node.v);
        ++u.consumers[v.node.v];
      }
  }
  for (const Value& v : p.outputs) u.is_output[v.node.v] = 1;
  return u;
}

bool fits(const TensorType& t, const TensorType& result) {
  return t.dtype == result.dtype && (t.shape == result.shape || t.shape.numel() == 1);
}

// Node `id` may join a group whose result has type `result`.
bool fusible(const Graph& g, NodeId id, const TensorType& result) {
  const Node& n = g.node(id);
  const OpDef& d = op_def(n.op);
  if (!d.has(kElementwise) || d.has(kStateful) || d.has(kLeaf) || n.outputs.size() != 1) return false;
  if (!n.attrs.items().empty() || (d.arity != 1 && d.arity != 2)) return false;
  DType dt = n.outputs[0].dtype;
  if (!(dt == DType::F32 ? d.block_f32 != nullptr : dt == DType::F64 && d.block_f64 != nullptr)) return false;
  if (!fits(n.outputs[0], result)) return false;
  for (const Value& v : n.inputs)
    if (!fits(g.type(v), result)) return false;
  return true;
}

// Grows a group from `root` through single-consumer producers; returns its
// members in id order (empty when fewer than two).
std::vector<uint32_t> grow_group(const Program& p, const Uses& uses, std::vector<int32_t>& group_of, uint32_t root,
                                 int32_t group) {
  const Graph& g = p.graph;
  const TensorType& result = g.node({root}).outputs[0];
  if (!fusible(g, {root}, result)) return {};
  std::vector<uint32_t> members{root}, stack{root};
  group_of[root] = group;
  while (!stack.empty()) {
    uint32_t m = stack.back();
    stack.pop_back();
    for (const Value& v : g.node({m}).inputs) {
      uint32_t q = v.node.v;
      if (group_of[q] >= 0 || uses.consumers[q] != 1 || uses.is_output[q] || !fusible(g, {q}, result)) continue;
      if (members.size() >= size_t(fused::kMaxInstrs)) continue;
      group_of[q] = group;
      members.push_back(q);
      stack.push_back(q);
    }
  }
  if (members.size() < 2) {
    group_of[root] = -1;
    return {};
  }
  std::sort(members.begin(), members.end());
  return members;
}

// The fused node standing for `members` (ascending ids; the last is the root).
Node fused_node(const Graph& g, const GraphRewriter& rw, const std::vector<uint32_t>& members) {
  std::vector<Value> externals;  // old values read from outside the group
  std::vector<fused::Instr> program;
  auto operand_of = [&](const Value& v) -> int32_t {
    auto it = std::find(members.begin(), members.end(), v.node.v);
    if (it != members.end()) return -2 - int32_t(it - members.begin());  // instruction, renumbered below
    auto e = std::find(externals.begin(), externals.end(), v);
    if (e == externals.end()) e = externals.insert(externals.end(), v);
    return int32_t(e - externals.begin());
  };
  for (uint32_t m : members) {
    const Node& n = g.node({m});
    program.push_back({n.op, operand_of(n.inputs[0]), n.inputs.size() > 1 ? operand_of(n.inputs[1]) : -1});
  }
  int32_t n_ext = int32_t(externals.size());
  for (fused::Instr& in : program) {
    if (in.a <= -2) in.a = n_ext + (-2 - in.a);
    if (in.b <= -2) in.b = n_ext + (-2 - in.b);
  }
  std::string name;
  for (auto it = members.rbegin(); it != members.rend(); ++it)
    name += (name.empty() ? "" : "\u2218") + op_def(g.node({*it}).op).name;
  std::vector<Value> inputs;
  for (const Value& v : externals) inputs.push_back(rw.map(v));
  const Node& root = g.node({members.back()});
  static const OpId fused_op = op_id(fused::kOpName);
  return Node{fused_op, std::move(inputs), fused::encode(program), root.outputs, name, root.site, nullptr};
}

}  // namespace

void run_fuse_elementwise(Program& program, const CompileOptions&) {
  const Graph& g = program.graph;
  Uses uses = count_uses(program);
  std::vector<int32_t> group_of(g.size(), -1);
  std::vector<std::vector<uint32_t>> groups;
  for (uint32_t id = uint32_t(g.size()); id-- > 0;) {
    if (group_of[id] >= 0) continue;
    std::vector<uint32_t> members = grow_group(program, uses, group_of, id, int32_t(groups.size()));
    if (!members.empty()) groups.push_back(std::move(members));
  }
  if (groups.empty()) return;
  GraphRewriter rw(g);
  for (uint32_t id = 0; id < g.size(); ++id) {
    if (group_of[id] < 0) {
      rw.copy({id});
    } else if (groups[size_t(group_of[id])].back() == id) {
      rw.redirect({id}, {{rw.append(fused_node(g, rw, groups[size_t(group_of[id])])), 0}});
    }
  }
  program = rw.finish(program.outputs);
}

}  // namespace loom
