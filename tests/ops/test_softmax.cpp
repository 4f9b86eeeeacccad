// softmax, log_softmax and their companion backward ops: forward against a
// naive reference over (outer, axis, inner) with broadcast masks, fully masked
// rows, numerical stability, gradients against closed forms, f64 gradient
// checks, and shape errors.
#include <cmath>
#include <limits>

#include "autograd/grad.hpp"
#include "graph/errors.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

// The mask element that broadcasts onto flat index `flat` of shape xs.
double mask_at(const Tensor& m, const Shape& xs, int64_t flat) {
  int64_t off = 0, stride = 1;
  int lead = xs.rank() - m.shape().rank();
  for (int d = xs.rank() - 1; d >= 0; --d) {
    int64_t idx = flat % xs[d];
    flat /= xs[d];
    int md = d - lead;
    if (md < 0) continue;
    if (m.shape()[md] != 1) off += idx * stride;
    stride *= m.shape()[md];
  }
  return m.at(off);
}

struct Rows {
  int64_t outer = 1, len = 1, inner = 1;
  int64_t at(int64_t o, int64_t a, int64_t j) const { return (o * len + a) * inner + j; }
};
Rows rows_of(const Shape& s, int axis) {
  Rows r;
  axis = s.normalize_axis(axis);
  for (int d = 0; d < s.rank(); ++d) (d < axis ? r.outer : d == axis ? r.len : r.inner) *= s[d];
  return r;
}

// Naive masked (log-)softmax in double.
Tensor ref_softmax(const Tensor& x, int axis, const Tensor* mask, bool log) {
  Rows R = rows_of(x.shape(), axis);
  Tensor y(x.dtype(), x.shape());
  for (int64_t o = 0; o < R.outer; ++o)
    for (int64_t j = 0; j < R.inner; ++j) {
      auto keep = [&](int64_t a) { return !mask || mask_at(*mask, x.shape(), R.at(o, a, j)) != 0; };
      double mx = -INFINITY, z = 0;
      for (int64_t a = 0; a < R.len; ++a)
        if (keep(a)) mx = std::max(mx, x.at(R.at(o, a, j)));
      for (int64_t a = 0; a < R.len; ++a)
        if (keep(a)) z += std::exp(x.at(R.at(o, a, j)) - mx);
      for (int64_t a = 0; a < R.len; ++a) {
        double v = x.at(R.at(o, a, j)) - mx;
        y.set(R.at(o, a, j), !keep(a) ? 0.0 : log ? v - std::log(z) : std::exp(v) / z);
      }
    }
  return y;
}

// Adjoint of sum(r ⊙ op(x)) in closed form: softmax  y⊙(r − Σ r⊙y);
// log_softmax  k⊙(r − p Σ k⊙r), p = softmax.
Tensor ref_grad(const Tensor& x, const Tensor& r, int axis, const Tensor* mask, bool log) {
  Tensor p = ref_softmax(x, axis, mask, false);
  Rows R = rows_of(x.shape(), axis);
  Tensor dx(x.dtype(), x.shape());
  for (int64_t o = 0; o < R.outer; ++o)
    for (int64_t j = 0; j < R.inner; ++j) {
      auto keep = [&](int64_t a) { return !mask || mask_at(*mask, x.shape(), R.at(o, a, j)) != 0; };
      double s = 0;
      for (int64_t a = 0; a < R.len; ++a)
        if (keep(a)) s += log ? r.at(R.at(o, a, j)) : r.at(R.at(o, a, j)) * p.at(R.at(o, a, j));
      for (int64_t a = 0; a < R.len; ++a) {
        int64_t i = R.at(o, a, j);
        double v = log ? r.at(i) - p.at(i) * s : p.at(i) * (r.at(i) - s);
        dx.set(i, keep(a) ? v : 0.0);
      }
    }
  return dx;
}

Var apply_op(bool log, Var x, int axis, std::optional<Var> mask) {
  return log ? ops::log_softmax(x, axis, mask) : ops::softmax(x, axis, mask);
}

struct Case {
  Shape x;
  int axis;
  std::optional<Tensor> mask;
};

std::vector<Case> cases() {
  // (B,1,S) attention mask with one batch fully masked; an f32 mask along axis 1; an f64 mask of rank 1.
  Tensor attn = Tensor::from_i32({2, 1, 5}, std::vector<int32_t>{1, 1, 0, 1, 0, 0, 0, 0, 0, 0});
  Tensor col = Tensor::from_f32({3, 1}, std::vector<float>{1, 0, 2});
  Tensor last = Tensor::from_f64({5}, std::vector<double>{0, 1, 1, 0, 1});
  // Big enough for the parallel path: a random (B,1,S) mask along the last axis, and a strided axis.
  Tensor big(DType::I32, {64, 1, 80});
  for (int64_t i = 0; i < big.numel(); ++i) big.set(i, (i * 7919 % 5) != 0);
  return {{{64, 8, 80}, -1, big},        {{64, 8, 80}, 1, std::nullopt},
          {{2, 3, 5}, -1, std::nullopt}, {{2, 3, 5}, 1, std::nullopt}, {{2, 3, 5}, 0, std::nullopt},
          {{2, 3, 5}, -1, attn},         {{2, 3, 5}, 1, col},           {{2, 3, 5}, 2, last},
          {{7}, 0, std::nullopt},        {{4, 2, 3, 3}, 2, std::nullopt}};
}

void check_forward_and_grad(bool log, DType dt) {
  for (const Case& c : cases()) {
    Graph g;
    Var x = input(g, "x", {dt, c.x});
    std::optional<Var> m;
    if (c.mask) m = input(g, "m", c.mask->type());
    Var y = apply_op(log, x, c.axis, m);
    Tensor r = test::random_tensor(dt, c.x, 5);
    Var dx = grad(ops::sum(y * constant(g, r)), {x})[0];
    Tensor xv = test::random_tensor(dt, c.x, 3, -3.0, 3.0);
    test::Feeds feeds{{"x", xv}};
    if (c.mask) feeds.emplace_back("m", *c.mask);
    auto out = test::run_graph(g, {y, dx}, feeds);
    const Tensor* mp = c.mask ? &*c.mask : nullptr;
    double tol = dt == DType::F32 ? 2e-6 : 1e-13;
    SCOPED_TRACE("shape " + c.x.str() + " axis " + std::to_string(c.axis) + (mp ? " masked" : ""));
    EXPECT_LT(test::max_abs_diff(out[0], ref_softmax(xv, c.axis, mp, log)), tol);
    EXPECT_LT(test::max_abs_diff(out[1], ref_grad(xv, r, c.axis, mp, log)), tol);
  }
}

TEST(Softmax, ForwardAndGradientMatchReference) {
  for (DType dt : {DType::F32, DType::F64}) check_forward_and_grad(false, dt);
}

TEST(LogSoftmax, ForwardAndGradientMatchReference) {
  for (DType dt : {DType::F32, DType::F64}) check_forward_and_grad(true, dt);
}

TEST(Softmax, FullyMaskedRowIsZeroAndFinite) {
  for (bool log : {false, true}) {
    Graph g;
    Var x = input(g, "x", {DType::F32, {2, 4}});
    Var m = input(g, "m", {DType::I32, {2, 1}});
    Var y = apply_op(log, x, -1, m);
    Var dx = grad(ops::sum(y * y), {x})[0];
    auto out = test::run_graph(g, {y, dx}, {{"x", test::random_tensor(DType::F32, {2, 4}, 1)},
                                           {"m", test::int_tensor({2, 1}, {1, 0})}});
    for (int64_t i = 0; i < 8; ++i) {
      ASSERT_TRUE(std::isfinite(out[0].at(i)) && std::isfinite(out[1].at(i))) << "log=" << log << " i=" << i;
      if (i >= 4) {
        EXPECT_EQ(out[0].at(i), 0.0);
        EXPECT_EQ(out[1].at(i), 0.0);
      }
    }
    double row0 = 0;
    for (int64_t i = 0; i < 4; ++i) row0 += log ? std::exp(out[0].at(i)) : out[0].at(i);
    EXPECT_NEAR(row0, 1.0, 1e-6);
  }
}

TEST(Softmax, StableForLargeLogits) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {1, 3}});
  auto out = test::run_graph(g, {ops::softmax(x), ops::log_softmax(x)},
                             {{"x", Tensor::from_f32({1, 3}, std::vector<float>{1000, 1001, -1000})}});
  double e = std::exp(-1.0);
  EXPECT_NEAR(out[0].at(0), e / (1 + e), 1e-6);
  EXPECT_NEAR(out[0].at(1), 1 / (1 + e), 1e-6);
  EXPECT_EQ(out[0].at(2), 0.0);
  EXPECT_NEAR(out[1].at(1), -std::log1p(e), 1e-4);
  EXPECT_NEAR(out[1].at(2), -2001 - std::log1p(e), 1e-2);
}

TEST(SoftmaxGrad, CompanionMatchesFormula) {
  // softmax_grad(y, dy) = y ⊙ (dy − Σ dy⊙y) along axis 0 of a (3,2) tensor.
  Graph g;
  Var y = input(g, "y", {DType::F64, {3, 2}});
  Var dy = input(g, "dy", {DType::F64, {3, 2}});
  Var dx = apply(op_id("softmax_grad"), {y, dy}, {{"axis", int64_t(0)}});
  Tensor yv = test::random_tensor(DType::F64, {3, 2}, 8), dyv = test::random_tensor(DType::F64, {3, 2}, 9);
  auto out = test::run_graph(g, {dx}, {{"y", yv}, {"dy", dyv}});
  for (int64_t j = 0; j < 2; ++j) {
    double s = 0;
    for (int64_t a = 0; a < 3; ++a) s += yv.at(a * 2 + j) * dyv.at(a * 2 + j);
    for (int64_t a = 0; a < 3; ++a)
      EXPECT_NEAR(out[0].at(a * 2 + j), yv.at(a * 2 + j) * (dyv.at(a * 2 + j) - s), 1e-14);
  }
}

TEST(Softmax, Gradchecks) {
  for (const char* op : {"softmax", "log_softmax", "softmax_grad"}) test::expect_op_gradcheck(op);
  const OpDef& d = op_def(op_id("log_softmax_grad"));
  EXPECT_TRUE(d.has(kNonDifferentiable));
  EXPECT_FALSE(d.why_no_grad.empty());
}

TEST(Softmax, ShapeErrors) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {2, 3, 4}});
  EXPECT_THROW(ops::softmax(x, 3), ShapeError);
  EXPECT_THROW(ops::log_softmax(x, -4), ShapeError);
  EXPECT_THROW(ops::softmax(x, -1, input(g, "m1", {DType::I32, {2, 2, 4}})), ShapeError);
  EXPECT_THROW(ops::softmax(x, -1, input(g, "m2", {DType::I32, {1, 2, 3, 4}})), ShapeError);
  EXPECT_THROW(ops::softmax(input(g, "i", {DType::I32, {2, 3}})), ShapeError);
  EXPECT_NO_THROW(ops::softmax(x, -1, input(g, "m3", {DType::F32, {2, 1, 4}})));
  Var y = ops::softmax(x);
  Var bad = input(g, "dy", {DType::F32, {2, 3, 5}});
  EXPECT_THROW(apply(op_id("softmax_grad"), {y, bad}, {{"axis", int64_t(-1)}}), ShapeError);
  try {
    ops::softmax(x, -1, input(g, "m4", {DType::I32, {2, 4}}));
    FAIL() << "expected a ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[2,4]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[2,3,4]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace loom
