// The example attention kind (examples/shared_projection_attention.cpp):
// registered by one call (examples/register_examples.cpp), asking for one [H,H] parameter, scoring
// (d W)·(e W) with padded positions at weight 0, and passing the f64
// gradient check.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "tests/support/registered.hpp"
#include "autograd/gradcheck.hpp"
#include "models/seq2seq/attention.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

constexpr int64_t B = 1, T = 2, S = 3, H = 2;
constexpr const char* kName = "shared-projection";

Tensor mask_with_last_padded() {
  Tensor m(DType::F64, {B, 1, S});
  for (int64_t s = 0; s < S; ++s) m.set(s, s + 1 < S ? 1.0 : 0.0);
  return m;
}

TEST(SharedProjectionExample, IsRegisteredWithHelp) {
  ASSERT_TRUE(models::seq2seq::attention_registry().contains(kName));
  EXPECT_FALSE(models::seq2seq::attention_registry().get(kName).help.empty());
  EXPECT_EQ(models::seq2seq::make_attention(kName)->name(), kName);
}

TEST(SharedProjectionExample, ScoresAreDotProductsOfProjectedVectors) {
  Graph g;
  Tensor d = test::random_tensor(DType::F64, {B, T, H}, 1), e = test::random_tensor(DType::F64, {B, S, H}, 2);
  Tensor w = test::random_tensor(DType::F64, {H, H}, 3);
  std::map<std::string, Shape> requested;
  runtime::ParameterSource source = [&](const std::string& name, const Shape& shape) {
    requested.emplace(name, shape);
    return input(g, name, {DType::F64, shape});
  };
  Var dv = input(g, "d", d.type()), ev = input(g, "e", e.type()), mv = input(g, "mask", {DType::F64, {B, 1, S}});
  models::seq2seq::AttentionOutput out = models::seq2seq::make_attention(kName)->build(g, {dv, ev, mv, H, source});
  ASSERT_EQ(requested.size(), 1u);
  EXPECT_EQ(requested.at("attention.shared_weight"), (Shape{H, H}));
  Tensor weights = test::run_graph(
      g, {out.weights}, {{"d", d}, {"e", e}, {"mask", mask_with_last_padded()}, {"attention.shared_weight", w}})[0];

  auto projected = [&](const Tensor& x, int64_t row, int64_t j) {
    double sum = 0;
    for (int64_t k = 0; k < H; ++k) sum += x.at(row * H + k) * w.at(k * H + j);
    return sum;
  };
  for (int64_t t = 0; t < T; ++t) {
    double score[S], z = 0;
    for (int64_t s = 0; s + 1 < S; ++s) {
      score[s] = 0;
      for (int64_t j = 0; j < H; ++j) score[s] += projected(d, t, j) * projected(e, s, j);
      z += std::exp(score[s]);
    }
    for (int64_t s = 0; s + 1 < S; ++s) EXPECT_NEAR(weights.at(t * S + s), std::exp(score[s]) / z, 1e-12);
    EXPECT_NEAR(weights.at(t * S + S - 1), 0.0, 1e-15) << "padding gets no weight";
  }
}

TEST(SharedProjectionExample, GradientsCheckInDoublePrecision) {
  OpExample ex;
  Var d = ex.random_input("d", {B, T, H}), e = ex.random_input("e", {B, S, H});
  Var mask = ex.fixed_input("mask", mask_with_last_padded());
  runtime::ParameterSource source = [&](const std::string& name, const Shape& shape) {
    return ex.random_input(name, shape, -0.5, 0.5);
  };
  models::seq2seq::AttentionOutput out = models::seq2seq::make_attention(kName)->build(ex.graph, {d, e, mask, H, source});
  ex.outputs = {out.context, out.weights};
  GradCheckResult r = check_gradients(ex);
  EXPECT_TRUE(r.ok) << r.str();
}

}  // namespace
}  // namespace loom
