// One registration function per built-in op family, each defined in the
// family's own file under ops/; adding a family adds one line to each list.
// ops/builtin_ops.cpp registers them.
#pragma once
#include "graph/op_def.hpp"

namespace loom {

void register_elementwise_ops(Registry& r);  // ops/elementwise.cpp
void register_fused_ops(Registry& r);        // ops/fused_elementwise.cpp
void register_reduce_ops(Registry& r);       // ops/reduce.cpp
void register_matmul_ops(Registry& r);       // ops/matmul.cpp
void register_softmax_ops(Registry& r);      // ops/softmax.cpp
void register_loss_ops(Registry& r);         // ops/loss.cpp
void register_embedding_ops(Registry& r);    // ops/embedding.cpp
void register_shape_ops(Registry& r);        // ops/shape_ops.cpp
void register_dropout_ops(Registry& r);      // ops/dropout.cpp
void register_lstm_ops(Registry& r);         // ops/lstm.cpp

inline void register_builtin_families(Registry& r) {
  register_elementwise_ops(r);
  register_fused_ops(r);
  register_reduce_ops(r);
  register_matmul_ops(r);
  register_softmax_ops(r);
  register_loss_ops(r);
  register_embedding_ops(r);
  register_shape_ops(r);
  register_dropout_ops(r);
  register_lstm_ops(r);
}

}  // namespace loom
