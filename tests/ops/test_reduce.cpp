// Reduce family: sum, mean, max, max_grad, broadcast_to. Forward values are
// compared with a naive loop over every input element, for every axis subset
// of several shapes (small ones and ones large enough to run multithreaded);
// gradients are checked in f64; shape errors must name the op and the shapes.
#include <cmath>
#include <limits>
#include <set>

#include "autograd/grad.hpp"
#include "graph/errors.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

enum class Kind { Sum, Mean, Max };

// Reference: out index of every input index by dropping (or zeroing) the reduced axes.
std::vector<double> naive_reduce(const Tensor& x, const std::set<int>& axes, Kind kind) {
  const Shape& s = x.shape();
  Shape ks;
  for (int i = 0; i < s.rank(); ++i) ks.push_back(axes.count(i) ? 1 : s[i]);
  std::vector<double> acc(size_t(ks.numel()), kind == Kind::Max ? -INFINITY : 0.0);
  std::vector<int64_t> xstr = s.strides(), kstr = ks.strides();
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t o = 0;
    for (int d = 0; d < s.rank(); ++d)
      if (!axes.count(d)) o += (i / xstr[size_t(d)] % s[d]) * kstr[size_t(d)];
    double v = x.at(i);
    acc[size_t(o)] = kind == Kind::Max ? std::max(acc[size_t(o)], v) : acc[size_t(o)] + v;
  }
  if (kind == Kind::Mean)
    for (double& a : acc) a /= double(x.numel() / ks.numel());
  return acc;
}

Var reduce(Kind k, Var x, std::vector<int64_t> axes, bool keep) {
  if (k == Kind::Sum) return ops::sum(x, axes, keep);
  if (k == Kind::Mean) return ops::mean(x, axes, keep);
  return ops::max(x, axes, keep);
}

// Every subset of axes (the empty subset as "all axes"), with and without keepdims.
void check_all_axis_sets(Kind kind, DType dt, Shape shape, double tol) {
  Tensor xv = test::random_tensor(dt, shape, 42);
  for (int mask = 0; mask < (1 << shape.rank()); ++mask) {
    std::vector<int64_t> axes;
    std::set<int> set;
    for (int i = 0; i < shape.rank(); ++i)
      if (mask >> i & 1) axes.push_back(i - (i % 2 ? shape.rank() : 0)), set.insert(i);  // odd axes negative
    if (axes.empty())
      for (int i = 0; i < shape.rank(); ++i) set.insert(i);
    for (bool keep : {false, true}) {
      Graph g;
      Var x = input(g, "x", xv.type());
      Var y = reduce(kind, x, axes, keep);
      Tensor out = test::run_graph(g, {y}, {{"x", xv}})[0];
      std::vector<double> want = naive_reduce(xv, set, kind);
      ASSERT_EQ(out.numel(), int64_t(want.size())) << "mask " << mask;
      Tensor ref = Tensor::from_f64(out.shape(), want);
      EXPECT_LT(test::rel_l2_error(out, ref), tol) << shape.str() << " mask " << mask << " keep " << keep;
      if (keep) {
        EXPECT_EQ(out.shape().rank(), shape.rank());
      }
    }
  }
}

TEST(Reduce, ForwardMatchesNaiveSmall) {
  for (Kind k : {Kind::Sum, Kind::Mean, Kind::Max}) {
    check_all_axis_sets(k, DType::F64, {2, 3, 4, 5}, 1e-13);
    check_all_axis_sets(k, DType::F32, {3, 1, 4}, 1e-6);
    check_all_axis_sets(k, DType::F32, {7}, 1e-6);
  }
}

// Large enough for the threaded paths: full reduction in chunks, rows, columns, middle.
TEST(Reduce, ForwardMatchesNaiveLarge) {
  for (Kind k : {Kind::Sum, Kind::Mean, Kind::Max}) {
    check_all_axis_sets(k, DType::F32, {64, 1030}, 1e-5);
    check_all_axis_sets(k, DType::F64, {8, 70, 90}, 1e-12);
  }
}

TEST(Reduce, ScalarInputAndSizeOneAxes) {
  Graph g;
  Var x = input(g, "x", {DType::F64, {1, 3, 1}});
  Var s = ops::sum(x, {0, 2});
  Var m = ops::max(x, {1}, true);
  Tensor xv = Tensor::from_f64({1, 3, 1}, std::vector<double>{1, -4, 2});
  auto out = test::run_graph(g, {s, m}, {{"x", xv}});
  EXPECT_EQ(out[0].shape(), Shape({3}));
  EXPECT_EQ(out[0].to_vector(), (std::vector<double>{1, -4, 2}));
  EXPECT_EQ(out[1].shape(), Shape({1, 1, 1}));
  EXPECT_EQ(out[1].at(0), 2.0);
}

TEST(Reduce, Gradchecks) {
  for (const char* op : {"sum", "mean", "max", "max_grad", "broadcast_to"}) test::expect_op_gradcheck(op);
}

// Ties: the gradient of max is split equally among the positions equal to the max.
TEST(Reduce, MaxGradientSplitsTiesEqually) {
  Graph g;
  Var x = input(g, "x", {DType::F64, {2, 4}});
  Var loss = ops::sum(ops::max(x, {1}) * scalar_like(x, 6.0));
  Var dx = grad(loss, {x})[0];
  Tensor xv = Tensor::from_f64({2, 4}, std::vector<double>{1, 5, 5, 5, 2, -1, 7, 0});
  Tensor got = test::run_graph(g, {dx}, {{"x", xv}})[0];
  EXPECT_EQ(got.to_vector(), (std::vector<double>{0, 2, 2, 2, 0, 0, 6, 0}));
}

TEST(Reduce, SumAndMeanGradientsAreUniform) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {3, 4}});
  Var l1 = ops::sum(ops::sum(x, {0}, true));
  Var l2 = ops::sum(ops::mean(x, {1}));
  auto d = grad(l1 + l2, {x});
  Tensor got = test::run_graph(g, {d[0]}, {{"x", test::random_tensor(DType::F32, {3, 4}, 1)}})[0];
  for (int64_t i = 0; i < got.numel(); ++i) EXPECT_FLOAT_EQ(float(got.at(i)), 1.25f);
}

// Reference: out[i] = x[i with broadcast axes set to 0].
TEST(Reduce, BroadcastToMatchesNaive) {
  struct Case { Shape from, to; };
  for (const Case& cs : {Case{{3, 1}, {2, 3, 4}}, Case{{4}, {3, 4}}, Case{{}, {2, 2}}, Case{{1, 5, 1}, {2, 5, 3}},
                         Case{{64, 1}, {64, 1024}}, Case{{1, 600}, {70, 600}}}) {
    for (DType dt : {DType::F32, DType::F64, DType::I32}) {
      Tensor xv = test::random_tensor(dt, cs.from, 3, -100, 100);
      Graph g;
      Var y = ops::broadcast_to(input(g, "x", xv.type()), cs.to);
      Tensor out = test::run_graph(g, {y}, {{"x", xv}})[0];
      ASSERT_EQ(out.shape(), cs.to);
      ASSERT_EQ(out.dtype(), dt);
      std::vector<int64_t> ystr = cs.to.strides(), xstr = cs.from.strides();
      int lead = cs.to.rank() - cs.from.rank();
      for (int64_t i = 0; i < out.numel(); ++i) {
        int64_t off = 0;
        for (int d = 0; d < cs.from.rank(); ++d)
          if (cs.from[d] != 1) off += (i / ystr[size_t(d + lead)] % cs.to[d + lead]) * xstr[size_t(d)];
        ASSERT_EQ(out.at(i), xv.at(off)) << cs.from.str() << "->" << cs.to.str() << " at " << i;
      }
    }
  }
}

TEST(Reduce, BroadcastToGradientSumsBack) {
  Graph g;
  Var x = input(g, "x", {DType::F64, {3, 1}});
  Var dx = grad(ops::sum(ops::broadcast_to(x, {2, 3, 4})), {x})[0];
  Tensor got = test::run_graph(g, {dx}, {{"x", test::random_tensor(DType::F64, {3, 1}, 2)}})[0];
  EXPECT_EQ(got.shape(), Shape({3, 1}));
  EXPECT_EQ(got.to_vector(), (std::vector<double>{8, 8, 8}));
}

// ---- shape errors: the message names the op and the shapes involved ------------------------
template <class F>
std::string shape_error_of(F&& build) { return test::message_of<ShapeError>(build); }

TEST(Reduce, BadAxisNamesOpAndShape) {
  for (const char* op : {"sum", "mean", "max"}) {
    Graph g;
    Var x = input(g, "x", {DType::F32, {2, 3}});
    std::string msg = shape_error_of([&] { apply(op_id(op), {x}, {{"axes", std::vector<int64_t>{2}}, {"keepdims", int64_t(0)}}); });
    EXPECT_NE(msg.find(std::string("(") + op + ")"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2,3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("axis 2"), std::string::npos) << msg;
  }
  Graph g;
  Var x = input(g, "x", {DType::F32, {2, 3}});
  std::string msg = shape_error_of([&] { (void)ops::sum(x, {1, -1}); });
  EXPECT_NE(msg.find("repeats"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(sum)"), std::string::npos) << msg;
  msg = shape_error_of([&] { (void)ops::max(x, {-3}); });
  EXPECT_NE(msg.find("(max)"), std::string::npos) << msg;
}

TEST(Reduce, IntegerInputIsRejected) {
  Graph g;
  Var x = input(g, "x", {DType::I32, {2, 3}});
  std::string msg = shape_error_of([&] { (void)ops::mean(x, {0}); });
  EXPECT_NE(msg.find("i32[2,3]"), std::string::npos) << msg;
}

TEST(Reduce, BadBroadcastNamesOpAndBothShapes) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {2, 3}});
  for (Shape to : {Shape{2, 4}, Shape{3}, Shape{3, 2, 2}}) {
    std::string msg = shape_error_of([&] { (void)ops::broadcast_to(x, to); });
    EXPECT_NE(msg.find("(broadcast_to)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2,3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find(to.str()), std::string::npos) << msg;
  }
}

TEST(Reduce, MaxGradRejectsWrongAdjointShape) {
  Graph g;
  Var x = input(g, "x", {DType::F64, {2, 3}});
  Var dy = input(g, "dy", {DType::F64, {3}});
  Var y = ops::max(x, {1});
  std::string msg = shape_error_of([&] {
    apply(op_id("max_grad"), {dy, x, y}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t(0)}});
  });
  EXPECT_NE(msg.find("(max_grad)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2,3]"), std::string::npos) << msg;
}

}  // namespace
}  // namespace loom
