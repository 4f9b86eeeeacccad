// The op registry and the leaf ops. The built-in families are added by the
// ops library (ops/builtin_ops.cpp); graph/ names no op beyond the leaves.
#include <algorithm>
#include <mutex>

#include "graph/errors.hpp"
#include "graph/graph.hpp"

namespace loom {

OpId Registry::add(OpDef def) {
  if (def.name.empty()) throw GraphError("register_op: an op needs a name");
  if (contains(def.name)) throw GraphError("register_op: an op named '" + def.name + "' is already registered");
  bool leaf = def.has(kLeaf);
  if (!leaf && (!def.infer || !def.forward))
    throw GraphError("register_op: op '" + def.name + "' needs a shape rule and a forward kernel");
  if (!leaf && !def.has(kNonDifferentiable) && !def.vjp)
    throw GraphError("register_op: op '" + def.name +
                     "' needs a gradient rule, or the kNonDifferentiable flag with a reason");
  if (def.has(kNonDifferentiable) && def.why_no_grad.empty())
    throw GraphError("register_op: op '" + def.name + "' is non-differentiable but does not say why");
  defs_.push_back(std::move(def));
  return OpId(defs_.size() - 1);
}

bool Registry::contains(std::string_view name) const {
  return std::any_of(defs_.begin(), defs_.end(), [&](const OpDef& d) { return d.name == name; });
}

OpId Registry::find(std::string_view name) const {
  for (size_t i = 0; i < defs_.size(); ++i)
    if (defs_[i].name == name) return OpId(i);
  std::string near;
  for (const OpDef& d : defs_)
    if (d.name.find(name.substr(0, 3)) != std::string::npos) near += (near.empty() ? "" : ", ") + d.name;
  throw GraphError("no op named '" + std::string(name) + "' is registered" +
                   (near.empty() ? std::string() : " (did you mean: " + near + "?)"));
}

static void register_leaf_ops(Registry& r) {
  for (const char* name : {"input", "parameter", "constant"}) {
    OpDef d;
    d.name = name;
    d.arity = 0;
    d.flags = kLeaf;
    d.why_no_grad = "a leaf: its gradient is the result, not a rule";
    r.add(std::move(d));
  }
}

Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry();  // never destroyed: ops outlive every static graph
    register_leaf_ops(*reg);
    return reg;
  }();
  return *r;
}

OpId input_op() {
  static const OpId id = op_id("input");
  return id;
}
OpId parameter_op() {
  static const OpId id = op_id("parameter");
  return id;
}
OpId constant_op() {
  static const OpId id = op_id("constant");
  return id;
}

}  // namespace loom
