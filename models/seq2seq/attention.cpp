// The built-in attention layers and the registry. Every layer is a few graph
// ops producing scores (B,T,S); attend() adds the masked softmax and the
// context. Shapes: d (B,T,H), e (B,S,H), mask (B,1,S).
#include "models/seq2seq/attention.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "ops/ops.hpp"

namespace loom::models::seq2seq {

AttentionOutput attend(Var scores, const AttentionInputs& in) {
  Var weights = named(ops::softmax(scores, -1, in.mask), "attention.weights");  // (B,T,S)
  Var context = named(ops::matmul(weights, in.encoder), "attention.context");   // (B,T,S)x(B,S,H) -> (B,T,H)
  return {context, weights};
}

namespace {

// d_t · e_s for every (t, s): (B,T,H) x (B,S,H)^T -> (B,T,S).
Var dot_scores(Var d, Var e) { return ops::matmul(d, e, false, true); }

// x (B,N,H) -> (B·N,H) · w (H,H), or w^T when transpose -> (B,N,H).
Var project(Var x, Var w, bool transpose) {
  Var rows = ops::reshape(x, {x.dim(0) * x.dim(1), x.dim(2)});
  return ops::reshape(ops::matmul(rows, w, false, transpose), {x.dim(0), x.dim(1), w.dim(transpose ? 0 : 1)});
}

class NoAttention final : public Attention {
 public:
  std::string name() const override { return "none"; }
  AttentionOutput build(Graph&, const AttentionInputs&) const override { return {}; }
};

class DotAttention final : public Attention {
 public:
  std::string name() const override { return "dot"; }
  AttentionOutput build(Graph&, const AttentionInputs& in) const override {
    return attend(dot_scores(in.decoder, in.encoder), in);
  }
};

class ScaledDotAttention final : public Attention {
 public:
  std::string name() const override { return "scaled-dot"; }
  AttentionOutput build(Graph&, const AttentionInputs& in) const override {
    return attend(dot_scores(in.decoder, in.encoder) * (1.0 / std::sqrt(double(in.hidden))), in);
  }
};

// cos(d, e) = d·e / (|d| |e|), with |x| = sqrt(Σx² + eps): padded encoder
// rows are zero, and sqrt at exactly 0 would have an infinite derivative.
// The eps also keeps |cos| strictly below 1.
class CosineAttention final : public Attention {
 public:
  static constexpr double kEps = 1e-8;
  std::string name() const override { return "cosine"; }
  AttentionOutput build(Graph&, const AttentionInputs& in) const override {
    Var d = in.decoder, e = in.encoder;
    Var d_norm = ops::sqrt(ops::sum(d * d, {-1}, true) + kEps);  // (B,T,1)
    Var e_norm = ops::sqrt(ops::sum(e * e, {-1}, true) + kEps);  // (B,S,1)
    Var e_norm_row = ops::reshape(e_norm, {e.dim(0), 1, e.dim(1)});  // (B,1,S)
    return attend(dot_scores(d, e) / d_norm / e_norm_row, in);
  }
};

// d_t · W e_s: the query d^T W is one (B·T,H)x(H,H) product.
class GeneralAttention final : public Attention {
 public:
  std::string name() const override { return "general"; }
  AttentionOutput build(Graph&, const AttentionInputs& in) const override {
    const int64_t H = in.hidden;
    Var w = in.parameter("attention.weight", {H, H});
    return attend(dot_scores(project(in.decoder, w, false), in.encoder), in);
  }
};

// v · tanh(W1 d_t + W2 e_s) (Bahdanau): the sum is a (B,T,S,H) broadcast of
// (B,T,1,H) + (B,1,S,H), and the product with v one (B·T·S,H)x(H,1) matmul.
class AdditiveAttention final : public Attention {
 public:
  std::string name() const override { return "additive"; }
  AttentionOutput build(Graph&, const AttentionInputs& in) const override {
    const int64_t H = in.hidden, B = in.decoder.dim(0), T = in.decoder.dim(1), S = in.encoder.dim(1);
    Var w_query = in.parameter("attention.w_query", {H, H});
    Var w_key = in.parameter("attention.w_key", {H, H});
    Var v = in.parameter("attention.v", {H});
    Var query = ops::reshape(project(in.decoder, w_query, true), {B, T, 1, H});
    Var key = ops::reshape(project(in.encoder, w_key, true), {B, 1, S, H});
    Var hidden = ops::reshape(ops::tanh(query + key), {B * T * S, H});
    Var scores = ops::reshape(ops::matmul(hidden, ops::reshape(v, {H, 1})), {B, T, S});
    return attend(scores, in);
  }
};

template <class Layer>
AttentionFactory factory_of() {
  return [] { return std::make_unique<Layer>(); };
}

struct BuiltinKind {
  const char* name;
  const char* help;
  AttentionFactory make;
};

const std::vector<BuiltinKind>& builtin_kinds() {
  static const std::vector<BuiltinKind> kinds{
      {"none", "no attention: the output layer sees the decoder state alone", factory_of<NoAttention>()},
      {"dot", "d·e (Luong dot)", factory_of<DotAttention>()},
      {"scaled-dot", "d·e / sqrt(H)", factory_of<ScaledDotAttention>()},
      {"cosine", "cosine of the angle between d and e", factory_of<CosineAttention>()},
      {"general", "d W e (Luong general)", factory_of<GeneralAttention>()},
      {"additive", "v · tanh(W_q d + W_k e) (Bahdanau)", factory_of<AdditiveAttention>()},
  };
  return kinds;
}

}  // namespace

AttentionRegistry& attention_registry() {
  static AttentionRegistry* registry = [] {
    auto* r = new AttentionRegistry("attention");  // never destroyed: kinds outlive static models
    for (const BuiltinKind& k : builtin_kinds()) r->add(k.name, k.help, k.make);
    return r;
  }();
  return *registry;
}

std::vector<std::string> builtin_attention_names() {
  std::vector<std::string> names;
  for (const BuiltinKind& k : builtin_kinds()) names.push_back(k.name);
  return names;
}

void register_attention(const std::string& name, AttentionFactory factory, std::string help) {
  attention_registry().add(name, std::move(help), std::move(factory));
}

bool has_attention(std::string_view name) { return attention_registry().contains(name); }

std::unique_ptr<Attention> make_attention(std::string_view name) { return attention_registry().make(name); }

std::vector<std::string> attention_names() { return attention_registry().names(); }

}  // namespace loom::models::seq2seq
