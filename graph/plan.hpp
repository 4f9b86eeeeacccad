// A compiled plan: plain data, printable, with no pointers. Steps run in
// order; each names its input and output buffers. Buffers live in one of four
// arenas: Transient (planned by liveness, reused), Input (fed before a run),
// Parameter (bound to a ParameterStore), Constant (filled once).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "graph/program.hpp"

namespace loom {

enum class Arena : uint8_t { Transient, Input, Parameter, Constant };
std::string_view arena_name(Arena a);

struct Buffer {
  Value value;
  TensorType type;
  Arena arena = Arena::Transient;
  size_t offset = 0;  // bytes into its arena (unused for parameters)
  size_t bytes = 0;
  int32_t first_step = -1;  // step that writes it (-1: before the run)
  int32_t last_step = -1;   // last step that reads it (INT32_MAX: fetched)
};

struct Step {
  NodeId node;
  std::vector<uint32_t> in;   // buffer ids
  std::vector<uint32_t> out;  // buffer ids
};

struct Plan {
  Program program;
  std::vector<Buffer> buffers;
  std::vector<Step> steps;
  std::vector<uint32_t> output_buffers;  // one per program.outputs
  std::vector<std::string> output_names; // one per output; empty when compiled from plain values
  std::array<size_t, 4> arena_bytes{};   // indexed by Arena
  size_t naive_transient_bytes = 0;      // one slot per value, no reuse
  std::vector<std::string> passes_run;
  CompileOptions options;

  // Steps, fused groups, buffers and arena sizes as text (`loom explain`).
  std::string explain() const;
  // Steps, fusion groups and buffer lifetimes for Graphviz (`loom explain --dot`).
  std::string dot() const;
};

// An output to compute and the name an executor fetches it by.
struct NamedValue {
  std::string name;
  Value value;
};

// Member op names of a fused node in run order ("mul, add, tanh"); empty
// for any other node. (graph/explain.cpp)
std::string fused_members(const Node& n);

// Runs the pipeline on a copy of g, then lowers to steps and plans memory.
Plan compile(const Graph& g, const std::vector<Value>& outputs, const CompileOptions& options = {});
// The same, with named outputs (Executor::output("loss")); names must be
// unique and non-empty. Two names may denote one value.
Plan compile(const Graph& g, const std::vector<NamedValue>& outputs, const CompileOptions& options = {});

// Lowering and memory planning, exposed for tests and for compile().
Plan lower(Program program, const CompileOptions& options);
// Sets offsets and arena sizes: best-fit with liveness when options.plan_memory,
// else one slot per buffer. (graph/passes/plan_memory.cpp)
void assign_memory(Plan& plan);

}  // namespace loom
