// cross_entropy and cross_entropy_grad: forward against a naive reference,
// fused against the composed form -Σ log_softmax(x) ⊙ Q / count (values and
// gradients), ignore_index and label smoothing, run-time target errors, shape
// errors and the f64 gradient check.
#include <cmath>

#include "autograd/grad.hpp"
#include "graph/errors.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

// Q = (1−ls)·onehot(t) + ls/C on counted rows, 0 on ignored rows; also returns the count.
Tensor smoothed_targets(const std::vector<int32_t>& t, int64_t classes, int64_t ignore, double ls, DType dt,
                        int64_t* count) {
  Tensor q(dt, {int64_t(t.size()), classes});
  *count = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == ignore) continue;
    ++*count;
    for (int64_t c = 0; c < classes; ++c) q.set(int64_t(i) * classes + c, ls / double(classes) + (c == t[i] ? 1 - ls : 0));
  }
  return q;
}

double ref_loss(const Tensor& x, const std::vector<int32_t>& t, int64_t ignore, double ls) {
  int64_t classes = x.shape()[1], count = 0;
  Tensor q = smoothed_targets(t, classes, ignore, ls, DType::F64, &count);
  double total = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    double mx = -INFINITY, z = 0;
    for (int64_t c = 0; c < classes; ++c) mx = std::max(mx, x.at(int64_t(i) * classes + c));
    for (int64_t c = 0; c < classes; ++c) z += std::exp(x.at(int64_t(i) * classes + c) - mx);
    for (int64_t c = 0; c < classes; ++c)
      total -= q.at(int64_t(i) * classes + c) * (x.at(int64_t(i) * classes + c) - mx - std::log(z));
  }
  return count ? total / double(count) : 0.0;
}

struct CeCase {
  std::vector<int32_t> targets;
  int64_t ignore;
  double ls;
};

std::vector<CeCase> ce_cases() {
  return {{{0, 4, 2, -100, 1, 3, -100}, -100, 0.0},
          {{0, 4, 2, -100, 1, 3, -100}, -100, 0.1},
          {{0, 4, 2, 3, 1, 3, 0}, 3, 0.25},  // ignore_index may be a real class
          {{-1, -1, -1, -1, -1, -1, -1}, -1, 0.1}};  // nothing counted: loss 0, gradient 0
}

TEST(CrossEntropy, ForwardMatchesReference) {
  for (DType dt : {DType::F32, DType::F64})
    for (const CeCase& s : ce_cases()) {
      Graph g;
      Var x = input(g, "x", {dt, {7, 5}});
      Var t = input(g, "t", {DType::I32, {7}});
      Tensor xv = test::random_tensor(dt, {7, 5}, 11, -4.0, 4.0);
      auto out = test::run_graph(g, {ops::cross_entropy(x, t, s.ignore, s.ls)},
                                 {{"x", xv}, {"t", test::int_tensor({7}, s.targets)}});
      EXPECT_EQ(out[0].shape().rank(), 0);
      EXPECT_NEAR(out[0].at(0), ref_loss(xv, s.targets, s.ignore, s.ls), dt == DType::F32 ? 1e-5 : 1e-13)
          << "ignore=" << s.ignore << " ls=" << s.ls;
    }
}

// Fused cross_entropy vs -sum(log_softmax(x) ⊙ Q)/count: values and d/dx.
TEST(CrossEntropy, FusedMatchesComposed) {
  for (DType dt : {DType::F32, DType::F64})
    for (const CeCase& s : ce_cases()) {
      Graph g;
      Var x = input(g, "x", {dt, {7, 5}});
      Var t = input(g, "t", {DType::I32, {7}});
      int64_t count = 0;
      Tensor q = smoothed_targets(s.targets, 5, s.ignore, s.ls, dt, &count);
      Var fused = ops::cross_entropy(x, t, s.ignore, s.ls);
      Var composed = -ops::sum(ops::log_softmax(x) * constant(g, q)) / double(std::max<int64_t>(count, 1));
      Var dfused = grad(fused * 1.7, {x})[0], dcomposed = grad(composed * 1.7, {x})[0];
      Tensor xv = test::random_tensor(dt, {7, 5}, 12, -4.0, 4.0);
      auto out = test::run_graph(g, {fused, composed, dfused, dcomposed},
                                 {{"x", xv}, {"t", test::int_tensor({7}, s.targets)}});
      double tol = dt == DType::F32 ? 1e-5 : 1e-13;
      SCOPED_TRACE("ignore=" + std::to_string(s.ignore) + " ls=" + std::to_string(s.ls));
      EXPECT_NEAR(out[0].at(0), out[1].at(0), tol);
      EXPECT_LT(test::max_abs_diff(out[2], out[3]), tol);
      if (count == 0) {
        for (int64_t i = 0; i < out[2].numel(); ++i) EXPECT_EQ(out[2].at(i), 0.0);
      }
    }
}

// The companion directly: (softmax − Q)·dloss/count, ignored rows zero; big
// enough for the parallel path.
TEST(CrossEntropyGrad, MatchesReference) {
  const int64_t n = 300, classes = 130;
  std::vector<int32_t> t(n);
  for (int64_t i = 0; i < n; ++i) t[size_t(i)] = i % 7 == 0 ? -100 : int32_t(i * 31 % classes);
  Graph g;
  Var x = input(g, "x", {DType::F32, {n, classes}});
  Var tv = input(g, "t", {DType::I32, {n}});
  Var dl = constant(g, Tensor::scalar(DType::F32, 2.5));
  Var dx = apply(op_id("cross_entropy_grad"), {x, tv, dl}, {{"ignore_index", int64_t(-100)}, {"label_smoothing", 0.2}});
  Tensor xv = test::random_tensor(DType::F32, {n, classes}, 13, -3.0, 3.0);
  auto out = test::run_graph(g, {dx}, {{"x", xv}, {"t", test::int_tensor({n}, t)}});
  int64_t count = 0;
  Tensor q = smoothed_targets(t, classes, -100, 0.2, DType::F64, &count);
  Tensor ref(DType::F64, {n, classes});
  for (int64_t i = 0; i < n; ++i) {
    if (t[size_t(i)] == -100) continue;
    double mx = -INFINITY, z = 0;
    for (int64_t c = 0; c < classes; ++c) mx = std::max(mx, xv.at(i * classes + c));
    for (int64_t c = 0; c < classes; ++c) z += std::exp(xv.at(i * classes + c) - mx);
    for (int64_t c = 0; c < classes; ++c) {
      double p = std::exp(xv.at(i * classes + c) - mx) / z;
      ref.set(i * classes + c, (p - q.at(i * classes + c)) * 2.5 / double(count));
    }
  }
  EXPECT_LT(test::max_abs_diff(out[0], ref.to(DType::F32)), 1e-7);
}

std::string run_error(const std::vector<int32_t>& targets, bool backward) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {4, 5}});
  Var t = input(g, "t", {DType::I32, {4}});
  Var loss = ops::cross_entropy(x, t, -1);
  Var out = backward ? grad(loss, {x})[0] : loss;
  try {
    test::run_graph(g, {out}, {{"x", test::random_tensor(DType::F32, {4, 5}, 1)}, {"t", test::int_tensor({4}, targets)}});
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(CrossEntropy, OutOfRangeTargetNamesValueRowAndC) {
  for (bool backward : {false, true}) {
    std::string msg = run_error({0, -1, 7, 1}, backward);
    EXPECT_NE(msg.find("target 7 at row 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("C=5"), std::string::npos) << msg;
    msg = run_error({0, -3, 1, 1}, backward);
    EXPECT_NE(msg.find("target -3 at row 1"), std::string::npos) << msg;
  }
  EXPECT_EQ(run_error({0, -1, 4, 1}, false), "");  // -1 is the ignore_index here
}

TEST(CrossEntropy, Gradcheck) {
  test::expect_op_gradcheck("cross_entropy");
  const OpDef& d = op_def(op_id("cross_entropy_grad"));
  EXPECT_TRUE(d.has(kNonDifferentiable));
  EXPECT_FALSE(d.why_no_grad.empty());
}

TEST(CrossEntropy, ShapeErrors) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {4, 5}});
  Var t = input(g, "t", {DType::I32, {4}});
  EXPECT_THROW(ops::cross_entropy(input(g, "x3", {DType::F32, {2, 2, 5}}), t), ShapeError);
  EXPECT_THROW(ops::cross_entropy(x, input(g, "tf", {DType::F32, {4}})), ShapeError);
  EXPECT_THROW(ops::cross_entropy(x, input(g, "t3", {DType::I32, {3}})), ShapeError);
  EXPECT_THROW(ops::cross_entropy(x, input(g, "t2", {DType::I32, {4, 1}})), ShapeError);
  EXPECT_THROW(ops::cross_entropy(x, t, -100, 1.5), ShapeError);
  EXPECT_THROW(ops::cross_entropy(x, t, -100, -0.1), ShapeError);
  try {
    ops::cross_entropy(x, input(g, "t7", {DType::I32, {7}}));
    FAIL() << "expected a ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("f32[4,5]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("i32[7]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace loom
