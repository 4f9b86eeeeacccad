// The graph IR. A Graph owns its nodes in a vector indexed by NodeId; nodes
// are appended after their inputs, so id order is a topological order. A node
// is an op, its input values, attributes, output types and an optional name,
// plus the source line that built it (for error messages). A Value names one
// output of one node.
#pragma once
#include <cstdint>
#include <memory>
#include <source_location>
#include <string>
#include <vector>

#include "graph/attrs.hpp"
#include "graph/op_def.hpp"
#include "graph/tensor.hpp"

namespace loom {

struct NodeId {
  uint32_t v = UINT32_MAX;
  bool operator==(const NodeId&) const = default;
  auto operator<=>(const NodeId&) const = default;
};

struct Value {
  NodeId node;
  uint32_t index = 0;
  bool operator==(const Value&) const = default;
  auto operator<=>(const Value&) const = default;
};

struct SourceSite {
  std::string file;
  uint32_t line = 0;
  std::string str() const;
};

struct Node {
  OpId op = 0;
  std::vector<Value> inputs;
  Attrs attrs;
  std::vector<TensorType> outputs;
  std::string name;
  SourceSite site;
  std::shared_ptr<const Tensor> value;  // constants only
};

class Graph {
 public:
  // Runs the op's shape rule; on failure throws ShapeError naming the node, op,
  // input types, the rule and the source line.
  NodeId add(OpId op, std::vector<Value> inputs, Attrs attrs = {}, std::string name = {},
             std::source_location where = std::source_location::current());
  // Appends a node whose types are already known (passes that rewrite).
  NodeId add_node(Node node);

  Value input(std::string name, TensorType type, std::source_location where = std::source_location::current());
  Value parameter(std::string name, TensorType type,
                  std::source_location where = std::source_location::current());
  Value constant(Tensor value, std::string name = {}, std::source_location where = std::source_location::current());

  const Node& node(NodeId id) const;
  Node& node(NodeId id);
  const TensorType& type(Value v) const;
  size_t size() const { return nodes_.size(); }
  const std::vector<Node>& nodes() const { return nodes_; }

  bool is_input(NodeId id) const;
  bool is_parameter(NodeId id) const;
  bool is_constant(NodeId id) const;
  const Tensor& constant_value(NodeId id) const;
  std::vector<NodeId> inputs() const;      // in creation order
  std::vector<NodeId> parameters() const;  // in creation order
  NodeId find(std::string_view name) const;  // throws GraphError if absent

  // "#12 'enc.gates' (matmul) built at models/seq2seq.cpp:40"
  std::string describe(NodeId id) const;
  // One line per node: "%12 = matmul(%3, %7) f32[2,4] 'name'".
  std::string str() const;

 private:
  std::vector<Node> nodes_;
};

// Ids of the built-in leaf ops, cached.
OpId input_op();
OpId parameter_op();
OpId constant_op();

}  // namespace loom
