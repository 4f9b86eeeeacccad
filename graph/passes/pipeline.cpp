// The compiler's passes, in the order compile() runs them, each with the
// CompileOptions flag that enables it. eliminate_dead_code runs twice: first
// to shrink the work of the later passes, then to drop what folding and
// merging left unread. Fusion comes last: the fused op hides its members from
// the passes before it. The LSTM cell rewrite precedes elementwise fusion,
// which would otherwise swallow the cell's gate arithmetic. Memory planning
// runs after lowering (plan_memory.cpp).
#include "graph/passes/passes.hpp"

namespace loom {

const std::vector<Pass>& pipeline() {
  static const std::vector<Pass> passes = {
      {"eliminate_dead_code", &CompileOptions::eliminate_dead_code, run_eliminate_dead_code},
      {"fold_constants", &CompileOptions::fold_constants, run_fold_constants},
      {"eliminate_common_subexpressions", &CompileOptions::eliminate_common_subexpressions,
       run_eliminate_common_subexpressions},
      {"eliminate_dead_code", &CompileOptions::eliminate_dead_code, run_eliminate_dead_code},
      {"fuse_lstm_cell", &CompileOptions::fuse_lstm_cell, run_fuse_lstm_cell},
      {"fuse_elementwise", &CompileOptions::fuse_elementwise, run_fuse_elementwise},
  };
  return passes;
}

}  // namespace loom
