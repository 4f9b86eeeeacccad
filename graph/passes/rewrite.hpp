// GraphRewriter: the one way passes rebuild a graph. It copies chosen nodes
// of a source graph, in id order, into a fresh graph, keeping a map from each
// old value to its new value; a pass may instead redirect an old node to
// values it built itself (a folded constant, a merged twin, a fused node).
// Because nodes are only appended after their (mapped) inputs, the new graph
// is topologically ordered by construction.
#pragma once
#include <vector>

#include "graph/program.hpp"

namespace loom {

class GraphRewriter {
 public:
  explicit GraphRewriter(const Graph& source);

  const Graph& source() const { return *source_; }
  Graph& target() { return target_; }
  const Graph& target() const { return target_; }

  // True once old node `id` has been copied or redirected.
  bool mapped(NodeId id) const { return !map_[id.v].empty(); }
  // The new value standing for an old one; GraphError if its node was dropped.
  Value map(Value old) const;
  // The old node's inputs, mapped.
  std::vector<Value> mapped_inputs(NodeId old) const;
  // Copies old node `id` with its inputs remapped; returns the copy's id.
  NodeId copy(NodeId id);
  // Appends a node built by the pass (its inputs are already new values).
  NodeId append(Node node);
  // From now on old node `id`'s outputs are `values` (one per output).
  void redirect(NodeId id, std::vector<Value> values);

  // The rebuilt program: the new graph and the old outputs, mapped.
  Program finish(const std::vector<Value>& old_outputs);

 private:
  const Graph* source_;
  Graph target_;
  std::vector<std::vector<Value>> map_;  // old node id -> new values of its outputs
};

// Ids of the nodes that reach any of `roots` (the roots included).
std::vector<char> reaching(const Graph& g, const std::vector<Value>& roots);

}  // namespace loom
