// What a gradient rule sees. A rule reads the forward node's inputs, outputs
// and output adjoints as Vars, and sets the adjoint of each input it can
// differentiate by building graph nodes. A rule may return an adjoint whose
// shape is the broadcast shape; autograd reduces it to the input's shape.
// It lives in graph/ with the op contract; autograd builds one per node.
#pragma once
#include <optional>
#include <vector>

#include "graph/builder.hpp"

namespace loom {

class VjpCtx {
 public:
  // Builds a zero adjoint shaped like its argument; graph/ knows no op by
  // name, so autograd supplies it (ops::zeros_like).
  using ZerosLike = Var (*)(Var like);

  VjpCtx(Graph& g, NodeId node, std::vector<std::optional<Var>> douts, std::vector<bool> needs,
         ZerosLike zeros_like);

  Graph& graph() { return *g_; }
  // Valid only until the next node is built.
  const Node& node() const { return g_->node(id_); }
  // A copy: building a node (even dout()'s zeros) moves the graph's storage.
  Attrs attrs() const { return node().attrs; }
  int num_inputs() const { return int(node().inputs.size()); }
  int num_outputs() const { return int(node().outputs.size()); }

  Var in(int i) const;
  Var out(int i = 0) const;
  // The adjoint of output i; zeros when nothing downstream uses that output.
  Var dout(int i = 0);
  bool has_dout(int i) const { return douts_.at(size_t(i)).has_value(); }
  bool needs(int i) const { return needs_.at(size_t(i)); }
  void set(int i, Var grad);
  const std::vector<std::optional<Var>>& grads() const { return grads_; }

 private:
  Graph* g_;
  NodeId id_;
  std::vector<std::optional<Var>> douts_;
  std::vector<bool> needs_;
  std::vector<std::optional<Var>> grads_;
  ZerosLike zeros_like_;
};

}  // namespace loom
