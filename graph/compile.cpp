// compile(): pipeline of passes, then lowering to steps and buffers, then
// memory planning. Buffer lifetimes are recorded here so that the planner
// only has to place intervals.
#include <algorithm>
#include <climits>

#include "graph/errors.hpp"
#include "graph/plan.hpp"
#include "graph/verify.hpp"

namespace loom {

std::string_view arena_name(Arena a) {
  switch (a) {
    case Arena::Transient: return "transient";
    case Arena::Input: return "input";
    case Arena::Parameter: return "parameter";
    case Arena::Constant: return "constant";
  }
  return "?";
}

static Arena leaf_arena(const Graph& g, NodeId id) {
  if (g.is_input(id)) return Arena::Input;
  if (g.is_parameter(id)) return Arena::Parameter;
  return Arena::Constant;
}

Plan lower(Program program, const CompileOptions& options) {
  Plan plan;
  plan.program = std::move(program);
  plan.options = options;
  const Graph& g = plan.program.graph;
  std::vector<std::vector<uint32_t>> buffer_of(g.size());
  for (uint32_t id = 0; id < g.size(); ++id) {
    const Node& n = g.node({id});
    bool leaf = op_def(n.op).has(kLeaf);
    Step step{{id}, {}, {}};
    for (const Value& in : n.inputs) {
      uint32_t b = buffer_of[in.node.v].at(in.index);
      step.in.push_back(b);
      plan.buffers[b].last_step = int32_t(plan.steps.size());
    }
    for (uint32_t k = 0; k < n.outputs.size(); ++k) {
      Buffer buf{{{id}, k}, n.outputs[k], leaf ? leaf_arena(g, {id}) : Arena::Transient, 0, n.outputs[k].bytes(),
                 leaf ? -1 : int32_t(plan.steps.size()), -1};
      buffer_of[id].push_back(uint32_t(plan.buffers.size()));
      step.out.push_back(uint32_t(plan.buffers.size()));
      plan.buffers.push_back(buf);
    }
    if (!leaf) plan.steps.push_back(std::move(step));
  }
  for (const Value& v : plan.program.outputs) {
    if (v.node.v >= g.size() || v.index >= buffer_of[v.node.v].size())
      throw GraphError("compile: a requested output does not exist in the graph");
    uint32_t b = buffer_of[v.node.v][v.index];
    plan.buffers[b].last_step = INT32_MAX;
    plan.output_buffers.push_back(b);
  }
  for (Buffer& b : plan.buffers)
    if (b.arena == Arena::Transient && b.last_step < b.first_step) b.last_step = b.first_step;  // never read
  for (const Buffer& b : plan.buffers)
    if (b.arena == Arena::Transient) plan.naive_transient_bytes += (b.bytes + kAlignment - 1) / kAlignment * kAlignment;
  return plan;
}

Plan compile(const Graph& g, const std::vector<Value>& outputs, const CompileOptions& options) {
  Program program{g, outputs};
  std::vector<std::string> ran;
  if (options.verify_each_pass) verify(program);
  for (const Pass& pass : pipeline()) {
    if (pass.enabled && !(options.*pass.enabled)) continue;
    pass.run(program, options);
    ran.push_back(pass.name);
    if (options.verify_each_pass) verify(program, pass.name);
  }
  Plan plan = lower(std::move(program), options);
  plan.passes_run = std::move(ran);
  assign_memory(plan);
  return plan;
}

Plan compile(const Graph& g, const std::vector<NamedValue>& outputs, const CompileOptions& options) {
  std::vector<Value> values;
  std::vector<std::string> names;
  for (const NamedValue& o : outputs) {
    if (o.name.empty()) throw GraphError("compile: output " + std::to_string(values.size()) + " has an empty name");
    if (std::find(names.begin(), names.end(), o.name) != names.end())
      throw GraphError("compile: two outputs are named '" + o.name + "'");
    values.push_back(o.value);
    names.push_back(o.name);
  }
  Plan plan = compile(g, values, options);
  plan.output_names = std::move(names);
  return plan;
}

}  // namespace loom
