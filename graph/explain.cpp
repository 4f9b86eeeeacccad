// Plan::explain() and Plan::dot(): a compiled plan for people. explain()
// lists the passes run, every step with its op, node name, output types and
// fused members, every buffer with arena, offset, bytes and lifetime, and the
// arena sizes beside the naive sum. dot() draws the steps for Graphviz, with
// fused steps highlighted, edges labelled with buffer sizes, and a lifetime
// chart of the transient buffers.
#include <algorithm>
#include <climits>
#include <cstdio>

#include "graph/passes/fused_program.hpp"
#include "graph/plan.hpp"

namespace loom {

std::string fused_members(const Node& n) {
  if (op_def(n.op).name != fused::kOpName) return {};
  std::string s;
  for (const fused::Instr& i : fused::decode(n.attrs, n.inputs.size()))
    s += (s.empty() ? "" : ", ") + op_def(i.op).name;
  return s;
}

namespace {

std::string human_bytes(size_t bytes) {
  char buf[32];
  if (bytes < 1024) std::snprintf(buf, sizeof buf, "%zu B", bytes);
  else if (bytes < 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f KB", double(bytes) / 1024);
  else std::snprintf(buf, sizeof buf, "%.1f MB", double(bytes) / (1024.0 * 1024.0));
  return buf;
}

std::string step_label(int32_t s) {
  if (s == INT32_MAX) return "end";
  if (s < 0) return "start";
  return std::to_string(s);
}

// The largest sum of transient bytes alive at one step: a lower bound for any planner.
size_t live_peak(const Plan& plan) {
  size_t peak = 0;
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    size_t live = 0;
    for (const Buffer& b : plan.buffers)
      if (b.arena == Arena::Transient && b.first_step <= int32_t(s) && std::max(b.first_step, b.last_step) >= int32_t(s))
        live += b.bytes;
    peak = std::max(peak, live);
  }
  return peak;
}

std::string buffer_line(const Plan& plan, uint32_t id) {
  const Buffer& b = plan.buffers[id];
  const Node& n = plan.program.graph.node(b.value.node);
  char buf[160];
  std::snprintf(buf, sizeof buf, "  b%-4u %-9s offset %-10zu %10s  [%s, %s]  %%%u.%u %s", id,
                std::string(arena_name(b.arena)).c_str(), b.offset, human_bytes(b.bytes).c_str(),
                step_label(b.first_step).c_str(), step_label(b.last_step).c_str(), b.value.node.v, b.value.index,
                b.type.str().c_str());
  return buf + (n.name.empty() ? std::string() : " '" + n.name + "'") + "\n";
}

// "outputs (2): loss=b7 grad:w=b9"; unnamed outputs show their position.
std::string outputs_line(const Plan& plan) {
  std::string line = "outputs (" + std::to_string(plan.output_buffers.size()) + "):";
  for (size_t i = 0; i < plan.output_buffers.size(); ++i)
    line += " " + (plan.output_names.empty() ? "#" + std::to_string(i) : plan.output_names[i]) + "=b" +
            std::to_string(plan.output_buffers[i]);
  return line + "\n";
}

std::string step_line(const Plan& plan, size_t s) {
  const Step& step = plan.steps[s];
  const Node& n = plan.program.graph.node(step.node);
  std::string line = "  [" + std::to_string(s) + "] " + op_def(n.op).name;
  if (!n.name.empty()) line += " '" + n.name + "'";
  line += " ->";
  for (const TensorType& t : n.outputs) line += " " + t.str();
  line += "  (";
  for (uint32_t b : step.in) line += "b" + std::to_string(b) + " ";
  line += "-> ";
  for (uint32_t b : step.out) line += "b" + std::to_string(b) + " ";
  line.back() = ')';
  std::string members = fused_members(n);
  if (!members.empty()) line += "  fused: " + members;
  return line + "\n";
}

}  // namespace

std::string Plan::explain() const {
  std::string s = "passes:";
  for (const std::string& p : passes_run) s += " " + p;
  if (passes_run.empty()) s += " (none)";
  if (options.matmul_precision != MatmulPrecision::F32)
    s += "\nmatmul precision: " + std::string(precision_name(options.matmul_precision)) +
         " (operands of every matmul and LSTM GEMM step; f32 accumulation and results)";
  if (options.pack_parameter_weights)
    s += "\npacked weights: f32 matmuls of few rows whose right operand is a parameter read a packed copy of it";
  s += "\nsteps (" + std::to_string(steps.size()) + "):\n";
  for (size_t i = 0; i < steps.size(); ++i) s += step_line(*this, i);
  s += "buffers (" + std::to_string(buffers.size()) + "):\n";
  for (uint32_t b = 0; b < buffers.size(); ++b) s += buffer_line(*this, b);
  s += outputs_line(*this);
  size_t transient = arena_bytes[size_t(Arena::Transient)];
  char pct[32];
  std::snprintf(pct, sizeof pct, "%.0f%%", naive_transient_bytes ? 100.0 * double(transient) / double(naive_transient_bytes) : 100.0);
  s += "transient arena " + human_bytes(transient) + " (naive " + human_bytes(naive_transient_bytes) + ", " + pct + ")\n";
  s += "input arena " + human_bytes(arena_bytes[size_t(Arena::Input)]) + ", constant arena " +
       human_bytes(arena_bytes[size_t(Arena::Constant)]) + "\n";
  size_t params = 0;
  for (const Buffer& b : buffers)
    if (b.arena == Arena::Parameter) params += b.bytes;
  size_t arenas = transient + arena_bytes[size_t(Arena::Input)] + arena_bytes[size_t(Arena::Constant)];
  s += "peak memory " + human_bytes(arenas) + " in arenas (+" + human_bytes(params) + " parameters; live transient peak " +
       human_bytes(live_peak(*this)) + ")\n";
  return s;
}

namespace {

std::string dot_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// One row per transient buffer: its interval drawn as a bar over the steps.
std::string lifetime_chart(const Plan& plan) {
  std::string s = "  subgraph cluster_lifetimes {\n    label=\"buffer lifetimes [first, last]\";\n";
  s += "    lifetimes [shape=plaintext, fontname=\"monospace\", label=\"";
  size_t n = plan.steps.size();
  for (uint32_t id = 0; id < plan.buffers.size(); ++id) {
    const Buffer& b = plan.buffers[id];
    if (b.arena != Arena::Transient) continue;
    int32_t last = b.last_step == INT32_MAX ? int32_t(n) - 1 : std::max(b.first_step, b.last_step);
    std::string bar(n, '.');
    for (int32_t t = std::max(b.first_step, 0); t <= last && size_t(t) < n; ++t) bar[size_t(t)] = '#';
    s += "b" + std::to_string(id) + " [" + step_label(b.first_step) + "," + step_label(b.last_step) + "] @" +
         std::to_string(b.offset) + " " + bar + "\\l";
  }
  return s + "\"];\n  }\n";
}

}  // namespace

std::string Plan::dot() const {
  const Graph& g = program.graph;
  std::vector<int32_t> producer(buffers.size(), -1);
  for (size_t s = 0; s < steps.size(); ++s)
    for (uint32_t b : steps[s].out) producer[b] = int32_t(s);
  std::string d = "digraph plan {\n  rankdir=TB;\n  node [shape=box, fontname=\"sans\"];\n";
  for (size_t s = 0; s < steps.size(); ++s) {
    const Node& n = g.node(steps[s].node);
    std::string members = fused_members(n);
    std::string label = "[" + std::to_string(s) + "] " + op_def(n.op).name + (n.name.empty() ? "" : "\\n" + dot_escape(n.name));
    d += "  s" + std::to_string(s) + " [label=\"" + label + "\"" +
         (members.empty() ? "" : ", style=filled, fillcolor=\"#ffd27f\", tooltip=\"fused: " + members + "\"") + "];\n";
  }
  for (uint32_t b = 0; b < buffers.size(); ++b)
    if (buffers[b].arena != Arena::Transient) {
      const Node& n = g.node(buffers[b].value.node);
      d += "  b" + std::to_string(b) + " [shape=ellipse, label=\"" + dot_escape(n.name.empty() ? "b" + std::to_string(b) : n.name) +
           "\\n" + std::string(arena_name(buffers[b].arena)) + "\"];\n";
    }
  for (size_t s = 0; s < steps.size(); ++s)
    for (uint32_t b : steps[s].in) {
      std::string from = producer[b] >= 0 ? "s" + std::to_string(producer[b]) : "b" + std::to_string(b);
      d += "  " + from + " -> s" + std::to_string(s) + " [label=\"" + human_bytes(buffers[b].bytes) + "\"];\n";
    }
  for (size_t i = 0; i < output_buffers.size(); ++i) {
    uint32_t b = output_buffers[i];
    std::string from = producer[b] >= 0 ? "s" + std::to_string(producer[b]) : "b" + std::to_string(b);
    d += "  out" + std::to_string(i) + " [shape=plaintext, label=\"output " + std::to_string(i) + "\"];\n  " + from +
         " -> out" + std::to_string(i) + " [label=\"" + human_bytes(buffers[b].bytes) + "\"];\n";
  }
  return d + lifetime_chart(*this) + "}\n";
}

}  // namespace loom
