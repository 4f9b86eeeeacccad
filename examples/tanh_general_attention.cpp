// "tanh-general" attention (see the header). Shapes: d (B,T,H), e (B,S,H),
// mask (B,1,S); W (H,H), b (H).
#include "examples/tanh_general_attention.hpp"

#include "ops/ops.hpp"

namespace loom::examples {

models::seq2seq::AttentionOutput TanhGeneralAttention::build(Graph&, const models::seq2seq::AttentionInputs& in) const {
  const int64_t H = in.hidden, B = in.decoder.dim(0), T = in.decoder.dim(1);
  // Parameters come from the callback: a parameter node when training, an
  // input when gradient-checking. Their names must start with "attention.".
  Var w = in.parameter("attention.query_weight", {H, H});
  Var b = in.parameter("attention.query_bias", {H});
  Var d_rows = ops::reshape(in.decoder, {B * T, H});             // (B·T,H)
  Var query = ops::tanh(ops::matmul(d_rows, w) + b);             // (B·T,H); b broadcasts over rows
  Var scores = ops::matmul(ops::reshape(query, {B, T, H}), in.encoder, false, true);  // (B,T,S)
  // The masked softmax over source positions and the context Σ α e.
  return models::seq2seq::attend(scores, in);
}

void register_tanh_general_attention() {
  if (models::seq2seq::has_attention(TanhGeneralAttention::kName)) return;
  models::seq2seq::attention_registry().add(TanhGeneralAttention::kName, "tanh(d W + b) · e: a learned nonlinear query (example)",
                                   [] { return std::make_unique<TanhGeneralAttention>(); });
}

}  // namespace loom::examples
