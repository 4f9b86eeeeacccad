// dropout: fraction dropped ≈ p, kept elements scaled by 1/(1−p), masks
// repeatable for one (seed, run index) and independent of the thread count,
// new masks for a new run index or seed, the p > 0 gradient against the
// forward's own mask within one run, p = 0 identity, shape errors, and the
// f64 gradient check (whose example uses p = 0; see ops/dropout.cpp).
#include <omp.h>

#include "autograd/grad.hpp"
#include "graph/errors.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

constexpr int64_t kN = 200000;

// Runs dropout(x) with x = 1 everywhere `runs` times on one executor; returns each run's output.
std::vector<Tensor> dropout_runs(double p, uint64_t seed, int runs, DType dt = DType::F32) {
  Graph g;
  Var x = input(g, "x", {dt, {kN}});
  Var y = ops::dropout(x, p, seed);
  ParameterStore params;
  Executor ex(compile(g, {y.value}), params);
  Tensor ones(dt, {kN});
  for (int64_t i = 0; i < kN; ++i) ones.set(i, 1.0);
  ex.set_input("x", ones);
  std::vector<Tensor> out;
  for (int r = 0; r < runs; ++r) {
    ex.run();
    out.push_back(ex.fetch(0));
  }
  return out;
}

TEST(Dropout, DropsFractionPAndScalesKept) {
  for (double p : {0.1, 0.5, 0.9})
    for (DType dt : {DType::F32, DType::F64}) {
      Tensor y = dropout_runs(p, 42, 1, dt)[0];
      int64_t dropped = 0;
      for (int64_t i = 0; i < kN; ++i) {
        if (y.at(i) == 0.0) ++dropped;
        else ASSERT_NEAR(y.at(i), 1.0 / (1.0 - p), 1e-6) << i;
      }
      // σ of the fraction is at most 0.0012 here; 0.01 is over 8σ.
      EXPECT_NEAR(double(dropped) / double(kN), p, 0.01) << "p=" << p;
    }
}

int64_t differing(const Tensor& a, const Tensor& b) {
  int64_t n = 0;
  for (int64_t i = 0; i < a.numel(); ++i) n += a.at(i) != b.at(i);
  return n;
}

TEST(Dropout, MaskIsAFunctionOfSeedAndRunIndex) {
  std::vector<Tensor> a = dropout_runs(0.5, 7, 2), b = dropout_runs(0.5, 7, 2), c = dropout_runs(0.5, 8, 1);
  EXPECT_EQ(differing(a[0], b[0]), 0);  // same seed, same run index
  EXPECT_EQ(differing(a[1], b[1]), 0);
  // New run index or new seed: about half the elements change (expected kN/2).
  EXPECT_GT(differing(a[0], a[1]), kN / 3);
  EXPECT_GT(differing(a[0], c[0]), kN / 3);
}

TEST(Dropout, ThreadCountDoesNotChangeTheMask) {
  int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  Tensor one = dropout_runs(0.3, 5, 1)[0];
  omp_set_num_threads(3);
  Tensor three = dropout_runs(0.3, 5, 1)[0];
  omp_set_num_threads(threads);
  EXPECT_EQ(differing(one, three), 0);
}

// Forward and backward share one run, so dx = dy ⊙ keep/(1−p) with the keep
// pattern read off the forward output (x > 0, so y = 0 exactly where dropped).
TEST(Dropout, GradientUsesTheForwardMask) {
  const double p = 0.4;
  Graph g;
  Var x = input(g, "x", {DType::F64, {300, 200}});
  Var y = ops::dropout(x, p, 99);
  Tensor r = test::random_tensor(DType::F64, {300, 200}, 1);
  Var dx = grad(ops::sum(y * constant(g, r)), {x})[0];
  ParameterStore params;
  Executor ex(compile(g, {y.value, dx.value}), params);
  ex.set_input("x", test::random_tensor(DType::F64, {300, 200}, 2, 0.5, 1.5));
  for (int run = 0; run < 2; ++run) {  // the pattern follows the run index
    ex.run();
    Tensor yv = ex.fetch(0), dxv = ex.fetch(1);
    int64_t dropped = 0;
    for (int64_t i = 0; i < yv.numel(); ++i) {
      bool kept = yv.at(i) != 0.0;
      dropped += !kept;
      ASSERT_NEAR(dxv.at(i), kept ? r.at(i) / (1 - p) : 0.0, 1e-12) << "run " << run << " element " << i;
    }
    EXPECT_NEAR(double(dropped) / double(yv.numel()), p, 0.02);
  }
}

TEST(Dropout, ZeroPIsIdentity) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {4, 5}});
  Tensor xv = test::random_tensor(DType::F32, {4, 5}, 3);
  auto out = test::run_graph(g, {ops::dropout(x, 0.0, 1)}, {{"x", xv}});
  EXPECT_EQ(test::max_abs_diff(out[0], xv), 0.0);
}

TEST(Dropout, Gradcheck) { test::expect_op_gradcheck("dropout"); }

TEST(Dropout, ShapeErrors) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {4, 5}});
  EXPECT_THROW(ops::dropout(x, 1.0, 1), ShapeError);
  EXPECT_THROW(ops::dropout(x, -0.1, 1), ShapeError);
  EXPECT_THROW(ops::dropout(input(g, "i", {DType::I32, {4}}), 0.5, 1), ShapeError);
  EXPECT_NO_THROW(ops::dropout(x, 0.999, 1));
}

}  // namespace
}  // namespace loom
