// The compiler's graph-to-graph passes. Each is
// `void run_<verb_noun>(Program&, const CompileOptions&)`, lives in its own
// file under graph/passes/ (whose header comment states its pre- and
// post-conditions) and is listed, in order, in pipeline.cpp. Every pass
// keeps verify()'s invariants: ids topological, types equal to the shape rules.
#pragma once
#include "graph/program.hpp"

namespace loom {

// Drops nodes the outputs do not need; keeps every input and parameter.
void run_eliminate_dead_code(Program& program, const CompileOptions& options);
// Evaluates nodes whose inputs are all constants and replaces them by constants.
void run_fold_constants(Program& program, const CompileOptions& options);
// Merges nodes computing the same op on the same values (and equal small constants).
void run_eliminate_common_subexpressions(Program& program, const CompileOptions& options);
// Replaces an LSTM cell written from matmul/add/slice/sigmoid/tanh/mul, whose
// gates nothing else reads, by one "lstm_cell" node.
void run_fuse_lstm_cell(Program& program, const CompileOptions& options);
// Turns chains of elementwise ops into single "fused_elementwise" nodes.
void run_fuse_elementwise(Program& program, const CompileOptions& options);

}  // namespace loom
