// Tests of the matmul family: the matmul op against a naive triple loop for
// every transpose combination (2-D and batched, odd sizes), its f64 gradient
// check, its shape errors; linear (forward and gradient check of the
// composite); and the Gemm wrapper itself on the strided and accumulating
// paths the LSTM uses (sub-matrices with lda/ldb/ldc, C += A·B).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "autograd/grad.hpp"
#include "graph/errors.hpp"
#include "ops/dnnl/gemm.hpp"
#include "ops/ops.hpp"
#include "tests/support/naive_gemm.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

// ---- naive references ----------------------------------------------------------
using test::naive_gemm;

std::vector<double> values(const Tensor& t) { return t.to_vector(); }

// op(a)·op(b) for dense tensors of rank 2 or 3, as a Tensor of `dtype`.
Tensor naive_matmul(const Tensor& a, const Tensor& b, bool ta, bool tb, DType dtype) {
  bool batched = a.shape().rank() == 3;
  GemmShape s;
  s.batch = batched ? a.shape()[0] : 1;
  s.trans_a = ta;
  s.trans_b = tb;
  s.m = ta ? a.shape().dim(-1) : a.shape().dim(-2);
  s.k = ta ? a.shape().dim(-2) : a.shape().dim(-1);
  s.n = tb ? b.shape().dim(-2) : b.shape().dim(-1);
  std::vector<double> c(size_t(s.batch * s.m * s.n));
  naive_gemm(s, values(a), values(b), c);
  Tensor out(dtype, batched ? Shape{s.batch, s.m, s.n} : Shape{s.m, s.n});
  for (int64_t i = 0; i < out.numel(); ++i) out.set(i, c[size_t(i)]);
  return out;
}

Shape operand_shape(int64_t batch, int64_t rows, int64_t cols, bool transposed) {
  int64_t r = transposed ? cols : rows, c = transposed ? rows : cols;
  return batch ? Shape{batch, r, c} : Shape{r, c};
}

// ---- matmul forward --------------------------------------------------------------
struct Case {
  int64_t batch, m, k, n;  // batch 0 = 2-D
};

void check_forward(DType dtype, const Case& cs, bool ta, bool tb, double tol) {
  Graph g;
  Shape as = operand_shape(cs.batch, cs.m, cs.k, ta), bs = operand_shape(cs.batch, cs.k, cs.n, tb);
  Var a = input(g, "a", {dtype, as}), b = input(g, "b", {dtype, bs});
  Var y = ops::matmul(a, b, ta, tb);
  Tensor at = test::random_tensor(dtype, as, 11), bt = test::random_tensor(dtype, bs, 12);
  Tensor got = test::run_graph(g, {y}, {{"a", at}, {"b", bt}})[0];
  Tensor want = naive_matmul(at, bt, ta, tb, dtype);
  double err = test::rel_l2_error(got, want);
  std::printf("[matmul %s B=%lld M=%lld K=%lld N=%lld ta=%d tb=%d] rel_err=%.3g\n",
              std::string(dtype_name(dtype)).c_str(), (long long)cs.batch, (long long)cs.m, (long long)cs.k,
              (long long)cs.n, ta, tb, err);
  EXPECT_LT(err, tol) << "B=" << cs.batch << " M=" << cs.m << " K=" << cs.k << " N=" << cs.n << " ta=" << ta
                      << " tb=" << tb;
}

const std::vector<Case> kCases = {{0, 1, 7, 33},  {0, 33, 1, 7},  {0, 7, 33, 1}, {0, 33, 33, 33}, {0, 1, 1, 1},
                                  {3, 1, 7, 33},  {3, 33, 1, 7},  {2, 7, 33, 1}, {2, 33, 7, 33},  {1, 7, 7, 7}};

TEST(Matmul, ForwardF32MatchesNaiveForEveryTransposeCombination) {
  for (const Case& cs : kCases)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) check_forward(DType::F32, cs, ta, tb, 1e-5);
}

TEST(Matmul, ForwardF64MatchesNaiveForEveryTransposeCombination) {
  for (const Case& cs : kCases)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) check_forward(DType::F64, cs, ta, tb, 1e-13);
}

TEST(Matmul, OutputShapes) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {7, 3}}), b = input(g, "b", {DType::F32, {5, 3}});
  EXPECT_EQ(ops::matmul(a, b, false, true).shape(), (Shape{7, 5}));
  EXPECT_EQ(ops::matmul(b, a, false, true).shape(), (Shape{5, 7}));
  EXPECT_EQ(ops::matmul(a, a, true, false).shape(), (Shape{3, 3}));
  Var x = input(g, "x", {DType::F32, {2, 4, 6}}), w = input(g, "w", {DType::F32, {2, 6, 9}});
  EXPECT_EQ(ops::matmul(x, w).shape(), (Shape{2, 4, 9}));
  EXPECT_EQ(ops::matmul(w, x, true, true).shape(), (Shape{2, 9, 4}));
}

// ---- gradients ---------------------------------------------------------------------
TEST(Matmul, Gradcheck) { test::expect_op_gradcheck("matmul"); }

// The f32 backward runs the transposed oneDNN paths; it must agree with f64.
TEST(Matmul, F32GradientsMatchF64) {
  auto grads = [](DType dt, bool ta, bool tb) {
    Graph g;
    Shape as = operand_shape(2, 5, 7, ta), bs = operand_shape(2, 7, 3, tb);
    Var a = input(g, "a", {dt, as}), b = input(g, "b", {dt, bs});
    Var loss = ops::sum(ops::tanh(ops::matmul(a, b, ta, tb)));
    std::vector<Var> d = grad(loss, {a, b});
    return test::run_graph(g, d, {{"a", test::random_tensor(dt, as, 3)}, {"b", test::random_tensor(dt, bs, 4)}});
  };
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      std::vector<Tensor> g32 = grads(DType::F32, ta, tb), g64 = grads(DType::F64, ta, tb);
      for (size_t i = 0; i < 2; ++i)
        EXPECT_LT(test::rel_l2_error(g32[i].to(DType::F64), g64[i]), 1e-5) << "input " << i << " ta=" << ta
                                                                             << " tb=" << tb;
    }
}

// ---- shape errors ------------------------------------------------------------------
std::string shape_error(const std::function<void()>& build) {
  try {
    build();
  } catch (const ShapeError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ShapeError";
  return {};
}

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in:\n" << text;
}

TEST(Matmul, ShapeErrorsNameBothShapesAndHint) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {4, 3}}), w = input(g, "w", {DType::F32, {5, 3}});
  std::string e = shape_error([&] { (void)ops::matmul(a, w); });
  expect_contains(e, "f32[4,3]");
  expect_contains(e, "f32[5,3]");
  expect_contains(e, "3 vs 5");
  expect_contains(e, "did you mean transpose_b=true?");

  Var at = input(g, "at", {DType::F32, {3, 4}}), b = input(g, "b", {DType::F32, {3, 6}});
  e = shape_error([&] { (void)ops::matmul(at, b); });
  expect_contains(e, "did you mean transpose_a=true?");

  Var x = input(g, "x", {DType::F32, {2, 4, 3}}), y = input(g, "y", {DType::F32, {3, 3, 5}});
  e = shape_error([&] { (void)ops::matmul(x, y); });
  expect_contains(e, "batch sizes differ");
  expect_contains(e, "2 vs 3");

  e = shape_error([&] { (void)ops::matmul(a, x); });
  expect_contains(e, "rank-2");
  Var d = input(g, "d", {DType::F64, {3, 5}});
  e = shape_error([&] { (void)ops::matmul(a, d); });
  expect_contains(e, "f64");
  Var v = input(g, "v", {DType::F32, {3}});
  shape_error([&] { (void)ops::matmul(v, v); });
}

// ---- linear ------------------------------------------------------------------------
// y[r,o] = Σ_i x[r,i]·w[o,i] + bias[o] over the flattened rows r of x.
Tensor naive_linear(const Tensor& x, const Tensor& w, const Tensor& bias, Shape out_shape) {
  int64_t in = w.shape()[1], out = w.shape()[0], rows = x.numel() / in;
  Tensor y(x.dtype(), out_shape);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = bias.at(o);
      for (int64_t i = 0; i < in; ++i) acc += x.at(r * in + i) * w.at(o * in + i);
      y.set(r * out + o, acc);
    }
  return y;
}

TEST(Linear, ForwardMatchesNaive) {
  for (Shape xs : {Shape{7, 33}, Shape{3, 5, 33}, Shape{1, 1, 33}}) {
    Graph g;
    Var x = input(g, "x", {DType::F32, xs}), w = input(g, "w", {DType::F32, {7, 33}});
    Var bias = input(g, "bias", {DType::F32, {7}});
    Var y = ops::linear(x, w, bias);
    Shape ys = xs;
    ys[ys.rank() - 1] = 7;
    ASSERT_EQ(y.shape(), ys);
    Tensor xt = test::random_tensor(DType::F32, xs, 1), wt = test::random_tensor(DType::F32, {7, 33}, 2);
    Tensor bt = test::random_tensor(DType::F32, {7}, 3);
    Tensor got = test::run_graph(g, {y}, {{"x", xt}, {"w", wt}, {"bias", bt}})[0];
    EXPECT_LT(test::rel_l2_error(got, naive_linear(xt, wt, bt, ys)), 1e-5) << xs.str();
  }
}

TEST(Linear, Gradcheck) {
  OpExample ex;
  Var x3 = ex.random_input("x3", {2, 3, 4}), x2 = ex.random_input("x2", {5, 4});
  Var w = ex.random_input("w", {6, 4}), bias = ex.random_input("bias", {6});
  ex.outputs = {ops::linear(x3, w, bias), ops::linear(x2, w, bias)};
  GradCheckResult r = check_gradients(ex);
  std::printf("[gradcheck linear] %s\n", r.str().c_str());
  EXPECT_TRUE(r.ok) << r.str();
  EXPECT_GT(r.elements_checked, 0);
}

TEST(Linear, ShapeErrors) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {2, 3, 4}}), w = input(g, "w", {DType::F32, {4, 6}});
  Var bias = input(g, "bias", {DType::F32, {6}});
  std::string e = shape_error([&] { (void)ops::linear(x, w, bias); });
  expect_contains(e, "f32[2,3,4]");
  expect_contains(e, "f32[4,6]");
  expect_contains(e, "4 vs 6");
  expect_contains(e, "test_matmul.cpp");
  Var w2 = input(g, "w2", {DType::F32, {5, 4}});
  e = shape_error([&] { (void)ops::linear(x, w2, bias); });
  expect_contains(e, "bias.dim(0) == weight.dim(0)");
  Var x4 = input(g, "x4", {DType::F32, {4}});
  shape_error([&] { (void)ops::linear(x4, w2, bias); });
}

// ---- Gemm: strided sub-matrices, accumulation, batches ---------------------------------
// Runs `s` on random stored operands sized by their leading dimensions (plus
// padding that must stay untouched) and compares with naive_gemm.
void check_gemm(const GemmShape& s) {
  auto ctx = make_dnnl_context();
  Gemm gemm(*ctx, s);
  auto [na, nb, nc] = test::stored_sizes(s);
  Tensor a = test::random_tensor(DType::F32, {na}, 21), b = test::random_tensor(DType::F32, {nb}, 22);
  Tensor c = test::random_tensor(DType::F32, {nc}, 23);  // padding and, with accumulate, the addend
  std::vector<double> want = values(c);
  naive_gemm(s, values(a), values(b), want);
  gemm.run(a.data<float>(), b.data<float>(), c.data<float>());
  double num = 0, den = 0;
  for (int64_t i = 0; i < nc; ++i) {
    double d = c.at(i) - want[size_t(i)];
    num += d * d;
    den += want[size_t(i)] * want[size_t(i)];
  }
  double err = std::sqrt(num / std::max(den, 1e-30));
  EXPECT_LT(err, 1e-5) << "M=" << s.m << " N=" << s.n << " K=" << s.k << " batch=" << s.batch << " ta=" << s.trans_a
                       << " tb=" << s.trans_b << " lda=" << s.lda << " ldb=" << s.ldb << " ldc=" << s.ldc
                       << " acc=" << s.accumulate;
}

TEST(Gemm, StridedSubMatricesEveryTransposeAndAccumulate) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (bool acc : {false, true}) {
        GemmShape s{.m = 7, .n = 33, .k = 5, .trans_a = ta, .trans_b = tb, .accumulate = acc};
        s.lda = (ta ? s.m : s.k) + 3;   // A is a column block of a wider matrix
        s.ldb = (tb ? s.k : s.n) * 4;   // one gate block of a (·, 4·width) weight
        s.ldc = s.n + 1;
        check_gemm(s);
        s.lda = s.ldb = s.ldc = 0;
        check_gemm(s);
      }
}

TEST(Gemm, BatchedDenseAndStrided) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      GemmShape s{.m = 7, .n = 1, .k = 33, .trans_a = ta, .trans_b = tb, .batch = 3};
      check_gemm(s);
      s.accumulate = true;
      s.lda = (ta ? s.m : s.k) + 2;
      s.ldb = (tb ? s.k : s.n) + 5;
      s.ldc = s.n + 3;
      check_gemm(s);
    }
}

// The LSTM's recurrent step: gates (B,4H) += h (B,H) · W_hhᵀ, W_hh (4H,H), and
// the weight gradient dW (4H,H) += dgatesᵀ (4H,B) · h (B,H) for one gate block.
TEST(Gemm, LstmLikeShapes) {
  check_gemm({.m = 16, .n = 4 * 33, .k = 33, .trans_b = true, .accumulate = true});
  check_gemm({.m = 33, .n = 33, .k = 16, .trans_a = true, .accumulate = true, .lda = 4 * 33, .ldb = 0, .ldc = 0});
  check_gemm({.m = 1, .n = 1, .k = 1});
}

TEST(Gemm, RepeatedRunsAccumulate) {
  auto ctx = make_dnnl_context();
  Gemm gemm(*ctx, {.m = 2, .n = 3, .k = 4, .accumulate = true});
  std::vector<float> a(8, 1.0f), b(12, 0.5f), c(6, 0.0f);
  gemm.run(a.data(), b.data(), c.data());
  gemm.run(a.data(), b.data(), c.data());
  for (float v : c) EXPECT_FLOAT_EQ(v, 4.0f);  // 2 runs × K=4 × 1 × 0.5
}

TEST(Gemm, RejectsBadSizes) {
  auto ctx = make_dnnl_context();
  EXPECT_THROW(Gemm(*ctx, {.m = 4, .n = 4, .k = 4, .lda = 3}), BackendError);
  EXPECT_THROW(Gemm(*ctx, {.m = 4, .n = 4, .k = 8, .trans_b = true, .ldb = 7}), BackendError);
  EXPECT_THROW(Gemm(*ctx, {.m = 0, .n = 4, .k = 4}), BackendError);
}

}  // namespace
}  // namespace loom
