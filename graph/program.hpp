// What the compiler passes transform: a graph plus the values the caller
// will fetch. Every pass is `void run_<verb_noun>(Program&, const CompileOptions&)`
// in its own file under graph/passes/, listed in order in pipeline.cpp.
#pragma once
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "graph/precision.hpp"

namespace loom {

struct Program {
  Graph graph;
  std::vector<Value> outputs;
};

struct CompileOptions {
  bool eliminate_dead_code = true;
  bool fold_constants = true;
  bool eliminate_common_subexpressions = true;
  bool fuse_lstm_cell = true;  // an LSTM cell written from primitives -> lstm_cell
  bool fuse_elementwise = true;
  bool reuse_in_place = true;
  bool plan_memory = true;   // best-fit offsets over liveness; off = one slot per value
  bool verify_each_pass = false;  // run verify() after every pass
  // Results bitwise independent of the OpenMP thread count: matrix products
  // run as fixed blocks (ops/dnnl/blocked_gemm.hpp), at some cost in speed.
  bool deterministic = false;
  MatmulPrecision matmul_precision = MatmulPrecision::F32;  // reaches every GEMM through PrepareCtx
  // Products of few rows whose right operand is a parameter keep a copy of
  // it in oneDNN's packed format, refreshed when the store's values change
  // (ops/dnnl/packed_gemm.hpp). For plans run many times between weight
  // updates: decoding steps, not training steps.
  bool pack_parameter_weights = false;

  // Everything off: the graph runs as built, one buffer per value.
  static CompileOptions none() {
    return {false, false, false, false, false, false, false, false};
  }
};

struct Pass {
  std::string name;
  bool CompileOptions::*enabled;  // nullptr = always runs
  void (*run)(Program&, const CompileOptions&);
};

// The passes in the order compile() runs them.
const std::vector<Pass>& pipeline();

}  // namespace loom
