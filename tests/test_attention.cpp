// Attention layers (models/attention.*, examples/tanh_general_attention.*):
// every built-in and the user-written "tanh-general" against a host
// reference of its scores, masked softmax and context; weights sum to 1 over
// real source positions and are 0 on padding; cosine scores are bounded; f64
// gradient checks; the registry's errors.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <map>
#include <stdexcept>

#include "models/seq2seq/attention.hpp"
#include "examples/tanh_general_attention.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

constexpr int64_t B = 2, T = 3, S = 5, H = 4;
const int32_t kSourceLengths[B] = {5, 3};  // row 1 has two padded positions

using Params = std::map<std::string, Tensor>;

// d (B,T,H), e (B,S,H) zero at padding, parameters: the fed values.
struct Case {
  Tensor d, e, mask;
  Params params;
};

double at3(const Tensor& x, int64_t i, int64_t j, int64_t k, int64_t n1, int64_t n2) {
  return x.at((i * n1 + j) * n2 + k);
}

// The score of (b,t,s) for layer `name`, written from docs/MODEL.md's formulas.
double reference_score(const std::string& name, const Case& c, int64_t b, int64_t t, int64_t s) {
  auto d = [&](int64_t i) { return at3(c.d, b, t, i, T, H); };
  auto e = [&](int64_t i) { return at3(c.e, b, s, i, S, H); };
  double dot = 0, dd = 0, ee = 0;
  for (int64_t i = 0; i < H; ++i) dot += d(i) * e(i), dd += d(i) * d(i), ee += e(i) * e(i);
  if (name == "dot") return dot;
  if (name == "scaled-dot") return dot / std::sqrt(double(H));
  if (name == "cosine") return dot / (std::sqrt(dd + 1e-8) * std::sqrt(ee + 1e-8));
  double score = 0;
  if (name == "general") {
    const Tensor& w = c.params.at("attention.weight");
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < H; ++j) score += d(i) * w.at(i * H + j) * e(j);
  } else if (name == "additive") {
    const Tensor &wq = c.params.at("attention.w_query"), &wk = c.params.at("attention.w_key");
    for (int64_t k = 0; k < H; ++k) {
      double pre = 0;
      for (int64_t j = 0; j < H; ++j) pre += wq.at(k * H + j) * d(j) + wk.at(k * H + j) * e(j);
      score += c.params.at("attention.v").at(k) * std::tanh(pre);
    }
  } else if (name == "tanh-general") {
    const Tensor &w = c.params.at("attention.query_weight"), &bias = c.params.at("attention.query_bias");
    for (int64_t k = 0; k < H; ++k) {
      double pre = bias.at(k);
      for (int64_t j = 0; j < H; ++j) pre += d(j) * w.at(j * H + k);
      score += std::tanh(pre) * e(k);
    }
  } else {
    ADD_FAILURE() << "no reference for " << name;
  }
  return score;
}

Case make_case(uint64_t seed, double scale = 1.0) {
  Case c{test::random_tensor(DType::F64, {B, T, H}, seed, -scale, scale),
         test::random_tensor(DType::F64, {B, S, H}, seed + 1, -scale, scale), Tensor(DType::F64, {B, 1, S}), {}};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) {
      bool real = s < kSourceLengths[b];
      c.mask.set(b * S + s, real ? 1.0 : 0.0);
      if (!real)
        for (int64_t i = 0; i < H; ++i) c.e.set((b * S + s) * H + i, 0.0);  // the encoder's zeros
    }
  return c;
}

// Builds layer `name` with every parameter as an f64 input, runs it, and
// returns {context, weights}; the parameters' fed values land in c.params.
std::vector<Tensor> run_layer(const std::string& name, Case& c) {
  Graph g;
  Var d = input(g, "d", {DType::F64, {B, T, H}}), e = input(g, "e", {DType::F64, {B, S, H}});
  Var mask = input(g, "mask", {DType::F64, {B, 1, S}});
  test::Feeds feeds{{"d", c.d}, {"e", c.e}, {"mask", c.mask}};
  uint64_t seed = 100;
  runtime::ParameterSource source = [&](const std::string& pname, const Shape& shape) {
    Tensor v = test::random_tensor(DType::F64, shape, seed++);
    c.params[pname] = v;
    feeds.emplace_back(pname, v);
    return input(g, pname, v.type());
  };
  models::seq2seq::AttentionOutput out = models::seq2seq::make_attention(name)->build(g, {d, e, mask, H, source});
  return test::run_graph(g, {out.context, out.weights}, feeds);
}

std::vector<std::string> scoring_layers() {
  examples::register_tanh_general_attention();
  return {"dot", "scaled-dot", "cosine", "general", "additive", "tanh-general"};
}

TEST(Attention, EveryLayerMatchesReferenceAndMasksPadding) {
  for (const std::string& name : scoring_layers()) {
    Case c = make_case(7);
    std::vector<Tensor> out = run_layer(name, c);
    const Tensor &context = out[0], &weights = out[1];
    ASSERT_EQ(weights.shape(), (Shape{B, T, S})) << name;
    ASSERT_EQ(context.shape(), (Shape{B, T, H})) << name;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        double m = -INFINITY, z = 0, total = 0;
        for (int64_t s = 0; s < kSourceLengths[b]; ++s) m = std::max(m, reference_score(name, c, b, t, s));
        for (int64_t s = 0; s < kSourceLengths[b]; ++s) z += std::exp(reference_score(name, c, b, t, s) - m);
        for (int64_t s = 0; s < S; ++s) {
          double w = weights.at((b * T + t) * S + s);
          double expected = s < kSourceLengths[b] ? std::exp(reference_score(name, c, b, t, s) - m) / z : 0.0;
          EXPECT_NEAR(w, expected, 1e-12) << name << " b=" << b << " t=" << t << " s=" << s;
          total += w;
        }
        EXPECT_NEAR(total, 1.0, 1e-12) << name;
        for (int64_t i = 0; i < H; ++i) {
          double ctx = 0;
          for (int64_t s = 0; s < S; ++s) ctx += weights.at((b * T + t) * S + s) * at3(c.e, b, s, i, S, H);
          EXPECT_NEAR(context.at((b * T + t) * H + i), ctx, 1e-12) << name;
        }
      }
  }
}

// Cosine scores lie in [-1, 1], so two real positions' weights differ by at
// most e^2 however large the vectors; dot attention on the same input is not
// so bounded.
TEST(Attention, CosineWeightsStayBoundedForLargeInputs) {
  Case c = make_case(11, 50.0);
  Tensor cosine = run_layer("cosine", c)[1];
  double worst_ratio = 1;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      double lo = INFINITY, hi = 0;
      for (int64_t s = 0; s < kSourceLengths[b]; ++s) {
        double w = cosine.at((b * T + t) * S + s);
        lo = std::min(lo, w), hi = std::max(hi, w);
      }
      worst_ratio = std::max(worst_ratio, hi / lo);
    }
  EXPECT_LE(worst_ratio, std::exp(2.0) + 1e-9);
  Case c2 = make_case(11, 50.0);
  Tensor dot = run_layer("dot", c2)[1];
  double dot_max = 0;
  for (int64_t i = 0; i < dot.numel(); ++i) dot_max = std::max(dot_max, dot.at(i));
  EXPECT_GT(dot_max, 0.99);  // the unbounded score saturates
}

// Every registered kind that yields a context (all but "none"): the
// built-ins and whatever examples/ adds, with no list to keep in step.
std::vector<std::string> registered_scoring_layers() {
  examples::register_tanh_general_attention();
  std::vector<std::string> names;
  for (const std::string& name : models::seq2seq::attention_names())
    if (name != "none") names.push_back(name);
  return names;
}

TEST(Attention, EveryRegisteredLayerChecksGradientsInDoublePrecision) {
  ASSERT_GE(registered_scoring_layers().size(), scoring_layers().size());
  for (const std::string& name : registered_scoring_layers()) {
    OpExample ex;
    Case c = make_case(3);
    Var d = ex.random_input("d", {B, T, H});
    Var e = ex.fixed_input("e_raw", c.e);  // zero rows must stay zero: scale a random input by the mask
    Var e_scale = ex.random_input("e_scale", {B, S, H});
    Var mask = ex.fixed_input("mask", c.mask);
    Var enc = e * e_scale;
    runtime::ParameterSource source = [&](const std::string& pname, const Shape& shape) {
      return ex.random_input(pname, shape, -0.5, 0.5);
    };
    models::seq2seq::AttentionOutput out = models::seq2seq::make_attention(name)->build(ex.graph, {d, enc, mask, H, source});
    ex.outputs = {out.context, out.weights};
    ex.tolerance = 1e-6;
    GradCheckResult r = check_gradients(ex);
    EXPECT_TRUE(r.ok) << name << ": " << r.str();
  }
}

TEST(Attention, NoneHasNoContextAndNoParameters) {
  Graph g;
  Var d = input(g, "d", {DType::F32, {B, T, H}}), e = input(g, "e", {DType::F32, {B, S, H}});
  Var mask = input(g, "mask", {DType::F32, {B, 1, S}});
  int requested = 0;
  runtime::ParameterSource source = [&](const std::string&, const Shape& shape) {
    ++requested;
    return input(g, "p", {DType::F32, shape});
  };
  models::seq2seq::AttentionOutput out = models::seq2seq::make_attention("none")->build(g, {d, e, mask, H, source});
  EXPECT_EQ(out.context.graph, nullptr);
  EXPECT_EQ(out.weights.graph, nullptr);
  EXPECT_EQ(requested, 0);
}

TEST(Attention, UnknownNameErrorListsKnownLayers) {
  try {
    (void)models::seq2seq::make_attention("bogus");
    FAIL() << "no error";
  } catch (const std::invalid_argument& err) {
    std::string msg = err.what();
    EXPECT_NE(msg.find("bogus"), std::string::npos) << msg;
    for (const char* known : {"none", "dot", "scaled-dot", "cosine", "general", "additive"})
      EXPECT_NE(msg.find(known), std::string::npos) << msg;
  }
}

TEST(Attention, RegistryRefusesDuplicatesAndListsUserLayers) {
  examples::register_tanh_general_attention();
  examples::register_tanh_general_attention();  // idempotent
  EXPECT_TRUE(models::seq2seq::has_attention("tanh-general"));
  EXPECT_THROW(models::seq2seq::register_attention("dot", [] { return models::seq2seq::make_attention("dot"); }),
               std::invalid_argument);
  EXPECT_THROW(models::seq2seq::register_attention("", [] { return models::seq2seq::make_attention("dot"); }), std::invalid_argument);
  std::vector<std::string> names = models::seq2seq::attention_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_NE(std::find(names.begin(), names.end(), "tanh-general"), names.end());
  EXPECT_EQ(models::seq2seq::make_attention("tanh-general")->name(), "tanh-general");
}

}  // namespace
}  // namespace loom
