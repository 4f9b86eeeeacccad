#include "graph/graph.hpp"

#include <algorithm>

#include "graph/errors.hpp"

namespace loom {

std::string SourceSite::str() const {
  if (file.empty()) return "(unknown site)";
  // Keep the path from the project's top folder, not the builder's disk layout.
  std::string_view root = LOOM_SOURCE_DIR;  // set by CMake, ends with '/'
  if (file.starts_with(root)) return file.substr(root.size()) + ":" + std::to_string(line);
  size_t cut = std::string::npos;
  for (const char* top : {"/models/", "/tests/", "/tools/", "/ops/", "/graph/", "/autograd/", "/optim/", "/bench/"}) {
    size_t pos = file.rfind(top);
    if (pos != std::string::npos && (cut == std::string::npos || pos > cut)) cut = pos;
  }
  return (cut == std::string::npos ? file : file.substr(cut + 1)) + ":" + std::to_string(line);
}

static SourceSite site_of(const std::source_location& w) { return {w.file_name(), uint32_t(w.line())}; }

static std::string input_list(const Graph& g, const std::vector<Value>& inputs) {
  std::string s;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Node& n = g.node(inputs[i].node);
    s += "\n  in" + std::to_string(i) + ": " + g.type(inputs[i]).str() + "  from #" +
         std::to_string(inputs[i].node.v) + (n.name.empty() ? "" : " '" + n.name + "'") + " (" +
         op_def(n.op).name + ")";
  }
  return s;
}

NodeId Graph::add(OpId op, std::vector<Value> inputs, Attrs attrs, std::string name, std::source_location where) {
  const OpDef& def = op_def(op);
  Node n{op, std::move(inputs), std::move(attrs), {}, std::move(name), site_of(where), nullptr};
  std::string head = "in node #" + std::to_string(nodes_.size()) + (n.name.empty() ? "" : " '" + n.name + "'") +
                     " (" + def.name + ") built at " + n.site.str();
  if (def.arity >= 0 && size_t(def.arity) != n.inputs.size())
    throw GraphError("GraphError " + head + "\n  expected " + std::to_string(def.arity) + " inputs, got " +
                     std::to_string(n.inputs.size()));
  std::vector<TensorType> in_types;
  for (const Value& v : n.inputs) {
    if (v.node.v >= nodes_.size() || v.index >= nodes_[v.node.v].outputs.size())
      throw GraphError("GraphError " + head + "\n  input refers to a value that does not exist in this graph");
    in_types.push_back(type(v));
  }
  try {
    n.outputs = def.infer(in_types, n.attrs);
  } catch (const ShapeError& e) {
    throw ShapeError("ShapeError " + head + input_list(*this, n.inputs) + (n.attrs.items().empty() ? "" : "\n  attrs: " + n.attrs.str()) +
                     "\n  " + e.what());
  }
  nodes_.push_back(std::move(n));
  return NodeId{uint32_t(nodes_.size() - 1)};
}

NodeId Graph::add_node(Node node) {
  for (const Value& v : node.inputs)
    LOOM_ASSERT(v.node.v < nodes_.size(), "add_node: input after node");
  nodes_.push_back(std::move(node));
  return NodeId{uint32_t(nodes_.size() - 1)};
}

Value Graph::input(std::string name, TensorType type, std::source_location where) {
  Node n{input_op(), {}, {}, {type}, std::move(name), site_of(where), nullptr};
  return {add_node(std::move(n)), 0};
}

Value Graph::parameter(std::string name, TensorType type, std::source_location where) {
  if (name.empty()) throw GraphError("a parameter needs a name (built at " + site_of(where).str() + ")");
  for (const Node& n : nodes_)
    if (n.op == parameter_op() && n.name == name)
      throw GraphError("parameter '" + name + "' is defined twice (second at " + site_of(where).str() + ")");
  Node n{parameter_op(), {}, {}, {type}, std::move(name), site_of(where), nullptr};
  return {add_node(std::move(n)), 0};
}

Value Graph::constant(Tensor value, std::string name, std::source_location where) {
  TensorType t = value.type();
  Node n{constant_op(), {}, {}, {t}, std::move(name), site_of(where), std::make_shared<const Tensor>(std::move(value))};
  return {add_node(std::move(n)), 0};
}

const Node& Graph::node(NodeId id) const {
  LOOM_ASSERT(id.v < nodes_.size(), "node id out of range");
  return nodes_[id.v];
}
Node& Graph::node(NodeId id) {
  LOOM_ASSERT(id.v < nodes_.size(), "node id out of range");
  return nodes_[id.v];
}
const TensorType& Graph::type(Value v) const { return node(v.node).outputs.at(v.index); }

bool Graph::is_input(NodeId id) const { return node(id).op == input_op(); }
bool Graph::is_parameter(NodeId id) const { return node(id).op == parameter_op(); }
bool Graph::is_constant(NodeId id) const { return node(id).op == constant_op(); }

const Tensor& Graph::constant_value(NodeId id) const {
  LOOM_ASSERT(is_constant(id) && node(id).value, "not a constant");
  return *node(id).value;
}

static std::vector<NodeId> nodes_with_op(const std::vector<Node>& nodes, OpId op) {
  std::vector<NodeId> out;
  for (uint32_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].op == op) out.push_back({i});
  return out;
}
std::vector<NodeId> Graph::inputs() const { return nodes_with_op(nodes_, input_op()); }
std::vector<NodeId> Graph::parameters() const { return nodes_with_op(nodes_, parameter_op()); }

NodeId Graph::find(std::string_view name) const {
  for (uint32_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].name == name) return {i};
  throw GraphError("no node named '" + std::string(name) + "' in the graph");
}

std::string Graph::describe(NodeId id) const {
  const Node& n = node(id);
  return "#" + std::to_string(id.v) + (n.name.empty() ? "" : " '" + n.name + "'") + " (" + op_def(n.op).name +
         ") built at " + n.site.str();
}

std::string Graph::str() const {
  std::string s;
  for (uint32_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    s += "%" + std::to_string(i) + " = " + op_def(n.op).name + "(";
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (k) s += ", ";
      s += "%" + std::to_string(n.inputs[k].node.v);
      if (n.inputs[k].index) s += "." + std::to_string(n.inputs[k].index);
    }
    s += ")";
    if (!n.attrs.items().empty()) s += " {" + n.attrs.str() + "}";
    for (const TensorType& t : n.outputs) s += " " + t.str();
    if (!n.name.empty()) s += " '" + n.name + "'";
    s += "\n";
  }
  return s;
}

}  // namespace loom
