// grad(loss, wrt): the walk itself, not single ops (those are gradchecked in
// tests/ops/). Fan-out sums adjoints; broadcast adjoints are reduced to the
// input's shape; an unused wrt gets zeros; differentiating through an op
// without a gradient, or from a non-scalar loss, is refused with a message
// that says where.
#include <cmath>
#include <string>

#include "autograd/grad.hpp"
#include "graph/errors.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

// floor(x): a test-only op without a gradient rule, registered like a user op.
void floor_forward(const KernelCtx& c) {
  const double* x = c.in[0].ptr<double>();
  double* y = c.out[0].ptr<double>();
  for (int64_t i = 0; i < c.out[0].numel(); ++i) y[i] = std::floor(x[i]);
}
std::vector<TensorType> infer_same_f64(std::span<const TensorType> in, const Attrs&) {
  if (in[0].dtype != DType::F64) throw ShapeError("test_floor takes f64, got " + in[0].str());
  return {in[0]};
}
OpId test_floor_op() {
  if (registry().contains("test_floor")) return op_id("test_floor");
  OpDef d;
  d.name = "test_floor";
  d.arity = 1;
  d.flags = kNonDifferentiable;
  d.why_no_grad = "piecewise constant: its derivative is zero or undefined";
  d.infer = infer_same_f64;
  d.forward = floor_forward;
  return register_op(std::move(d));
}

TEST(Autograd, FanOutSumsAdjoints) {  // y = x*x + x  ->  dy/dx = 2x + 1
  Graph g;
  Var x = input(g, "x", {DType::F64, {2, 3}});
  Var loss = ops::sum(x * x + x);
  Var dx = grad(loss, {x})[0];
  EXPECT_EQ(dx.shape(), x.shape());
  Tensor xv = test::random_tensor(DType::F64, {2, 3}, 1);
  Tensor got = test::run_graph(g, {dx}, {{"x", xv}})[0];
  for (int64_t i = 0; i < got.numel(); ++i) EXPECT_DOUBLE_EQ(got.at(i), 2 * xv.at(i) + 1);
}

TEST(Autograd, BroadcastBiasGradientIsReducedOverBatch) {
  // loss = sum(W ⊙ (x + b)), x: (B,N), b: (N)  ->  db[j] = Σ_i W[i,j], dx = W
  const int64_t B = 4, N = 3;
  Graph g;
  Var x = input(g, "x", {DType::F64, {B, N}});
  Var b = input(g, "b", {DType::F64, {N}});
  Tensor w = test::random_tensor(DType::F64, {B, N}, 2);
  Var loss = ops::sum(constant(g, w) * (x + b));
  std::vector<Var> d = grad(loss, {x, b});
  EXPECT_EQ(d[1].shape(), Shape({N}));
  auto out = test::run_graph(g, {d[0], d[1]},
                             {{"x", test::random_tensor(DType::F64, {B, N}, 3)},
                              {"b", test::random_tensor(DType::F64, {N}, 4)}});
  EXPECT_EQ(test::max_abs_diff(out[0], w), 0.0);
  for (int64_t j = 0; j < N; ++j) {
    double col = 0;
    for (int64_t i = 0; i < B; ++i) col += w.at(i * N + j);
    EXPECT_NEAR(out[1].at(j), col, 1e-14);
  }
}

TEST(Autograd, BroadcastOfSizeOneAxisKeepsTheAxis) {  // c: (B,1) added to (B,N)
  Graph g;
  Var x = input(g, "x", {DType::F64, {3, 5}});
  Var c = input(g, "c", {DType::F64, {3, 1}});
  Var dc = grad(ops::sum(x * c), {c})[0];
  EXPECT_EQ(dc.shape(), Shape({3, 1}));
  Tensor xv = test::random_tensor(DType::F64, {3, 5}, 5);
  Tensor got = test::run_graph(g, {dc}, {{"x", xv}, {"c", test::random_tensor(DType::F64, {3, 1}, 6)}})[0];
  for (int64_t i = 0; i < 3; ++i) {
    double row = 0;
    for (int64_t j = 0; j < 5; ++j) row += xv.at(i * 5 + j);
    EXPECT_NEAR(got.at(i), row, 1e-14);
  }
}

TEST(Autograd, UnusedWrtGetsZeros) {
  Graph g;
  Var x = input(g, "x", {DType::F64, {2, 2}});
  Var unused = input(g, "unused", {DType::F64, {3}});
  std::vector<Var> d = grad(ops::sum(ops::tanh(x)), {x, unused});
  EXPECT_EQ(d[1].type(), unused.type());
  auto out = test::run_graph(g, {d[1]}, {{"x", test::random_tensor(DType::F64, {2, 2}, 7)},
                                         {"unused", test::random_tensor(DType::F64, {3}, 8)}});
  for (double v : out[0].to_vector()) EXPECT_EQ(v, 0.0);
}

TEST(Autograd, DerivedValuesCanBeDifferentiated) {  // d/dh of sum(h*h) where h = tanh(x)
  Graph g;
  Var x = input(g, "x", {DType::F64, {4}});
  Var h = ops::tanh(x);
  Var dh = grad(ops::sum(h * h), {h})[0];
  Tensor xv = test::random_tensor(DType::F64, {4}, 9);
  Tensor got = test::run_graph(g, {dh}, {{"x", xv}})[0];
  for (int64_t i = 0; i < 4; ++i) EXPECT_NEAR(got.at(i), 2 * std::tanh(xv.at(i)), 1e-15);
}

TEST(Autograd, ThroughNonDifferentiableOpThrowsNamingTheNode) {
  Graph g;
  Var x = input(g, "x", {DType::F64, {3}});
  Var f = named(apply(test_floor_op(), {x}), "quantised");
  Var loss = ops::sum(f * x);
  try {
    grad(loss, {x});
    FAIL() << "expected GraphError";
  } catch (const GraphError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("#" + std::to_string(f.value.node.v)), std::string::npos) << m;
    EXPECT_NE(m.find("'quantised'"), std::string::npos) << m;
    EXPECT_NE(m.find("test_floor"), std::string::npos) << m;
    EXPECT_NE(m.find("piecewise constant"), std::string::npos) << m;
  }
}

TEST(Autograd, NonDifferentiableOpOffThePathIsFine) {  // floor(c) feeds the loss, but c is not in wrt
  Graph g;
  Var x = input(g, "x", {DType::F64, {3}});
  Var c = input(g, "c", {DType::F64, {3}});
  Var dx = grad(ops::sum(apply(test_floor_op(), {c}) * x), {x})[0];
  Tensor cv = Tensor::from_f64({3}, std::vector<double>{1.5, -0.5, 2.0});
  Tensor got = test::run_graph(g, {dx}, {{"x", test::random_tensor(DType::F64, {3}, 1)}, {"c", cv}})[0];
  EXPECT_EQ(got.to_vector(), (std::vector<double>{1.0, -1.0, 2.0}));
}

TEST(Autograd, NonScalarLossThrows) {
  Graph g;
  Var x = input(g, "x", {DType::F64, {2, 3}});
  try {
    grad(ops::tanh(x), {x});
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("f64[2,3]"), std::string::npos) << e.what();
  }
}

TEST(Autograd, OneElementLossOfAnyRankIsAccepted) {
  Graph g;
  Var x = input(g, "x", {DType::F64, {1, 1}});
  Var dx = grad(x * x, {x})[0];
  Tensor got = test::run_graph(g, {dx}, {{"x", Tensor::from_f64({1, 1}, std::vector<double>{3.0})}})[0];
  EXPECT_EQ(got.at(0), 6.0);
}

TEST(Autograd, WrtFromAnotherGraphOrIntegerIsRefused) {
  Graph g, other;
  Var x = input(g, "x", {DType::F64, {2}});
  Var y = input(other, "y", {DType::F64, {2}});
  Var ids = input(g, "ids", {DType::I32, {2}});
  Var loss = ops::sum(x);
  EXPECT_THROW(grad(loss, {y}), GraphError);
  EXPECT_THROW(grad(loss, {ids}), GraphError);
}

}  // namespace
}  // namespace loom
