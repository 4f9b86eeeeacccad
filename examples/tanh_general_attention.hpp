// A user-written attention layer, outside Loom's core: "tanh-general",
//   q_t = tanh(d_t W + b),   score(t, s) = q_t · e_s,
// a bilinear score with a learned nonlinear query (W "attention.query_weight"
// [H,H], b "attention.query_bias" [H]). It is built from graph ops alone and
// added to the attention registry by one call; docs/CUSTOM_ATTENTION.md walks
// through it step by step.
#pragma once
#include "models/seq2seq/attention.hpp"

namespace loom::examples {

class TanhGeneralAttention final : public models::seq2seq::Attention {
 public:
  static constexpr const char* kName = "tanh-general";
  std::string name() const override { return kName; }
  models::seq2seq::AttentionOutput build(Graph& g, const models::seq2seq::AttentionInputs& in) const override;
};

// Registers "tanh-general"; calling it again does nothing.
void register_tanh_general_attention();

}  // namespace loom::examples
