// Pass fold_constants: computes, at compile time, nodes whose inputs are all
// constants, and replaces each with a constant node holding its value.
// Pre:  a verified program.
// Post: no single-output node that has ≥1 input, all of them constants, and is
//       neither kStateful nor kLeaf remains (above kMaxFoldElements, folding is
//       skipped). Chains fold completely, because nodes are visited in id order.
//       The constants a fold consumed are left in place; the second
//       eliminate_dead_code in the pipeline removes those nothing reads.
#include "graph/errors.hpp"
#include "graph/executor.hpp"
#include "graph/passes/passes.hpp"
#include "graph/passes/rewrite.hpp"

namespace loom {
namespace {

// A folded value lives in the constant arena of every plan: bound its size.
constexpr int64_t kMaxFoldElements = int64_t(1) << 22;

bool foldable(const Graph& g, const GraphRewriter& rw, NodeId id) {
  const Node& n = g.node(id);
  const OpDef& def = op_def(n.op);
  if (def.has(kLeaf) || def.has(kStateful) || n.inputs.empty() || n.outputs.size() != 1) return false;
  if (n.outputs[0].shape.numel() > kMaxFoldElements) return false;
  for (const Value& v : n.inputs)
    if (!rw.target().is_constant(rw.map(v).node)) return false;
  return true;
}

// Runs node `id` alone on its (already folded) constant inputs.
Tensor evaluate(const Graph& g, const GraphRewriter& rw, NodeId id) {
  const Node& n = g.node(id);
  Graph tiny;
  std::vector<Value> inputs;
  for (const Value& v : n.inputs) {
    const Node& c = rw.target().node(rw.map(v).node);
    inputs.push_back(tiny.constant(*c.value, c.name));
  }
  NodeId y = tiny.add(n.op, inputs, n.attrs, n.name);
  DType dt = n.outputs[0].dtype == DType::F64 ? DType::F64 : DType::F32;
  ParameterStore no_params(dt);
  Executor ex(compile(tiny, {{y, 0}}, CompileOptions::none()), no_params);
  ex.run();
  return ex.fetch(0);
}

}  // namespace

void run_fold_constants(Program& program, const CompileOptions&) {
  const Graph& g = program.graph;
  GraphRewriter rw(g);
  for (uint32_t id = 0; id < g.size(); ++id) {
    if (!foldable(g, rw, {id})) {
      rw.copy({id});
      continue;
    }
    const Node& n = g.node({id});
    Node folded{constant_op(), {}, {}, n.outputs, n.name, n.site, std::make_shared<const Tensor>(evaluate(g, rw, {id}))};
    rw.redirect({id}, {{rw.append(std::move(folded)), 0}});
  }
  program = rw.finish(program.outputs);
}

}  // namespace loom
