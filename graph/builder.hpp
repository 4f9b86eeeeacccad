// The builder: Var is a handle to one value of a graph, so that model code
// reads like the math: `auto h = ops::tanh(ops::matmul(x, W) + b);`.
// Each op family declares its builder functions in ops/<family>.hpp.
#pragma once
#include <source_location>
#include <string>
#include <vector>

#include "graph/graph.hpp"

namespace loom {

struct Var {
  Graph* graph = nullptr;
  Value value;

  // Copies, not references: building any node may move the graph's storage.
  TensorType type() const { return graph->type(value); }
  Shape shape() const { return type().shape; }
  DType dtype() const { return type().dtype; }
  int rank() const { return shape().rank(); }
  int64_t dim(int axis) const { return shape().dim(axis); }
  const Node& node() const { return graph->node(value.node); }
};

// Adds a node of op `op` and returns its first output.
Var apply(OpId op, const std::vector<Var>& inputs, Attrs attrs = {}, std::string name = {},
          std::source_location where = std::source_location::current());
// Adds a node and returns every output.
std::vector<Var> apply_multi(OpId op, const std::vector<Var>& inputs, Attrs attrs = {}, std::string name = {},
                             std::source_location where = std::source_location::current());

Var input(Graph& g, std::string name, TensorType type, std::source_location where = std::source_location::current());
Var parameter(Graph& g, std::string name, TensorType type,
              std::source_location where = std::source_location::current());
Var constant(Graph& g, Tensor value, std::string name = {},
             std::source_location where = std::source_location::current());
// A rank-0 constant of x's dtype; broadcasts against anything.
Var scalar_like(Var x, double value);

// Names the node behind v (for errors, explain and parameter lookup); returns v.
Var named(Var v, std::string name);

}  // namespace loom
