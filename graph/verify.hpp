// verify(): the structural invariants every pass must keep. Throws GraphError
// naming the node and the pass that broke it:
//   inputs refer to earlier nodes (acyclic, topological), arities match the
//   OpDef, re-running each shape rule gives the recorded types, outputs exist.
#pragma once
#include <string_view>

#include "graph/program.hpp"

namespace loom {

void verify(const Program& program, std::string_view after_pass = "");

}  // namespace loom
