// A user-written attention kind, outside Loom's core: "shared-projection",
//   score(t, s) = (d_t W) · (e_s W),
// a dot product after one learned projection W ("attention.shared_weight"
// [H,H]) applied to both sides. This one file is all it takes, with one
// call of register_shared_projection_attention() from the program's main
// (examples/register_examples.cpp), so `loom train --attention
// shared-projection` sees it. Its test is
// tests/examples/test_shared_projection_attention.cpp.
#include <memory>

#include "examples/register_examples.hpp"
#include "models/seq2seq/attention.hpp"
#include "ops/ops.hpp"

namespace loom::examples {
namespace {

// x (B,N,H) · w (H,H) -> (B,N,H).
Var project(Var x, Var w) {
  Var rows = ops::reshape(x, {x.dim(0) * x.dim(1), x.dim(2)});
  return ops::reshape(ops::matmul(rows, w), {x.dim(0), x.dim(1), w.dim(1)});
}

class SharedProjectionAttention final : public models::seq2seq::Attention {
 public:
  std::string name() const override { return "shared-projection"; }
  models::seq2seq::AttentionOutput build(Graph&, const models::seq2seq::AttentionInputs& in) const override {
    Var w = in.parameter("attention.shared_weight", {in.hidden, in.hidden});
    Var scores = ops::matmul(project(in.decoder, w), project(in.encoder, w), false, true);  // (B,T,S)
    return models::seq2seq::attend(scores, in);
  }
};

}  // namespace

void register_shared_projection_attention() {
  if (models::seq2seq::has_attention("shared-projection")) return;
  models::seq2seq::attention_registry().add(
      "shared-projection", "(d W)·(e W): one learned projection on both sides (example)",
      []() -> std::unique_ptr<models::seq2seq::Attention> { return std::make_unique<SharedProjectionAttention>(); });
}

}  // namespace loom::examples
