// bf16 matrix products (CompileOptions::matmul_precision = BF16): the
// rounding itself, then the Gemm and the matmul and LSTM ops on every path
// the plan uses (transposes, accumulation, batches, leading dimensions).
// Tolerances: an operand rounded to bf16 is off by at most 2^-9 relatively,
// so a product by ~2^-8 and a sum of K random products, in L2, by less; we
// allow 1e-2 against the f32 product. Against the product of the rounded
// operands computed in double, only f32 accumulation error remains (1e-5):
// that shows the operands are rounded once and the sums are not in bf16.
// A bf16 result closer to f32 than 1e-5 would mean the bf16 path silently
// ran in f32, which is also refused. Tests that need the hardware skip
// elsewhere, saying why; test_bf16_refusal covers such CPUs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "autograd/grad.hpp"
#include "ops/dnnl/bf16.hpp"
#include "ops/dnnl/gemm.hpp"
#include "ops/ops.hpp"
#include "tests/support/naive_gemm.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

constexpr double kBf16Tolerance = 1e-2;
constexpr double kAccumulationTolerance = 1e-5;

#define SKIP_WITHOUT_BF16()                                               \
  do {                                                                    \
    if (std::string why = bf16_unsupported_reason(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)

TEST(Bf16Rounding, NearestEvenAndSpecialValues) {
  EXPECT_EQ(round_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(round_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(round_to_bf16(1.0f + 0x1p-8f), 0x3f80);        // halfway, ties to the even 1.0
  EXPECT_EQ(round_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);    // halfway, ties up to even
  EXPECT_EQ(round_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);  // just past halfway rounds up
  EXPECT_EQ(round_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // overflows to +inf
  EXPECT_EQ(round_to_bf16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_TRUE(std::isnan(bf16_to_float(round_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  // A NaN whose payload lies only in the dropped bits must not become inf.
  uint32_t low_nan_bits = 0x7f800001;
  float low_nan;
  std::memcpy(&low_nan, &low_nan_bits, sizeof low_nan);
  EXPECT_TRUE(std::isnan(bf16_to_float(round_to_bf16(low_nan))));
  std::vector<float> src = {1.5f, 2.0f, 9.0f, 0.1f, -3.0f, 7.0f};  // 2 rows of 2, row stride 3
  std::vector<uint16_t> dst(4);
  round_rows_to_bf16(src.data(), 2, 2, 3, dst.data());
  EXPECT_EQ(dst, (std::vector<uint16_t>{0x3fc0, 0x4000, 0x3dcd, 0xc040}));
}

std::vector<double> rounded(const std::vector<double>& v) {
  std::vector<double> r;
  for (double x : v) r.push_back(bf16_to_float(round_to_bf16(float(x))));
  return r;
}

double rel_l2(const Tensor& got, const std::vector<double>& want) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double d = got.at(i) - want[size_t(i)];
    num += d * d;
    den += want[size_t(i)] * want[size_t(i)];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

// Runs `s` in bf16 on random stored operands (padding included, which must
// stay untouched in C) and checks both tolerances of the file comment.
void check_bf16_gemm(GemmShape s) {
  s.precision = MatmulPrecision::BF16;
  auto ctx = make_dnnl_context();
  Gemm gemm(*ctx, s);
  auto [na, nb, nc] = test::stored_sizes(s);
  Tensor a = test::random_tensor(DType::F32, {na}, 31), b = test::random_tensor(DType::F32, {nb}, 32);
  Tensor c = test::random_tensor(DType::F32, {nc}, 33);
  std::vector<double> exact = c.to_vector(), of_rounded = c.to_vector();
  test::naive_gemm(s, a.to_vector(), b.to_vector(), exact);
  test::naive_gemm(s, rounded(a.to_vector()), rounded(b.to_vector()), of_rounded);
  gemm.run(a.data<float>(), b.data<float>(), c.data<float>());
  double vs_f32 = rel_l2(c, exact), vs_rounded = rel_l2(c, of_rounded);
  EXPECT_LT(vs_rounded, kAccumulationTolerance) << gemm.impl_name();
  EXPECT_LT(vs_f32, kBf16Tolerance) << gemm.impl_name();
  EXPECT_GT(vs_f32, kAccumulationTolerance) << "no bf16 rounding happened: " << gemm.impl_name();
}

TEST(Bf16Gemm, EveryTransposeAccumulateAndLeadingDims) {
  SKIP_WITHOUT_BF16();
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (bool acc : {false, true}) {
        SCOPED_TRACE("ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) + " acc=" + std::to_string(acc));
        GemmShape s{.m = 37, .n = 66, .k = 45, .trans_a = ta, .trans_b = tb, .accumulate = acc};
        check_bf16_gemm(s);
        s.lda = (ta ? s.m : s.k) + 3;
        s.ldb = (tb ? s.k : s.n) * 4;
        s.ldc = s.n + 1;
        check_bf16_gemm(s);
      }
}

TEST(Bf16Gemm, BatchedDenseAndStrided) {
  SKIP_WITHOUT_BF16();
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      SCOPED_TRACE("ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
      GemmShape s{.m = 17, .n = 9, .k = 40, .trans_a = ta, .trans_b = tb, .batch = 3};
      check_bf16_gemm(s);
      s.accumulate = true;
      s.lda = (ta ? s.m : s.k) + 2;
      s.ldb = (tb ? s.k : s.n) + 5;
      s.ldc = s.n + 3;
      check_bf16_gemm(s);
    }
}

// The translator's shapes at the small configuration (B=32, H=256, V=2000):
// the LSTM's projection and strided recurrent step, and the output layer.
TEST(Bf16Gemm, TranslatorShapes) {
  SKIP_WITHOUT_BF16();
  check_bf16_gemm({.m = 32, .n = 1024, .k = 256, .trans_b = true, .accumulate = true, .lda = 16 * 256,
                   .ldc = 16 * 1024});
  check_bf16_gemm({.m = 512, .n = 1024, .k = 128, .trans_b = true});
  check_bf16_gemm({.m = 512, .n = 2000, .k = 512, .trans_b = true});
  check_bf16_gemm({.m = 1024, .n = 256, .k = 512});
}

// run_same_b reuses B's rounding: with the same B it equals a full run, and
// it does not see a change made to B after the run that rounded it.
TEST(Bf16Gemm, RunSameBReusesTheRoundedB) {
  SKIP_WITHOUT_BF16();
  auto ctx = make_dnnl_context(), other_ctx = make_dnnl_context();
  GemmShape s{.m = 8, .n = 12, .k = 16, .trans_b = true, .precision = MatmulPrecision::BF16};
  Gemm reused(*ctx, s), fresh(*other_ctx, s);
  Tensor a1 = test::random_tensor(DType::F32, {8 * 16}, 1), a2 = test::random_tensor(DType::F32, {8 * 16}, 2);
  Tensor b = test::random_tensor(DType::F32, {12 * 16}, 3);
  std::vector<float> c(8 * 12), want(8 * 12);
  reused.run(a1.data<float>(), b.data<float>(), c.data());
  reused.run_same_b(a2.data<float>(), b.data<float>(), c.data());
  fresh.run(a2.data<float>(), b.data<float>(), want.data());
  EXPECT_EQ(c, want);
  for (int64_t i = 0; i < b.numel(); ++i) b.data<float>()[i] *= 2.0f;
  reused.run_same_b(a2.data<float>(), b.data<float>(), c.data());
  EXPECT_EQ(c, want);
}

// Gemms of one context share the rounded operands: each run rounds its own
// into them, whatever ran before, and a run_same_b after another Gemm's run
// is refused rather than reading that Gemm's B.
TEST(Bf16Gemm, GemmsOfOneContextShareTheStaging) {
  SKIP_WITHOUT_BF16();
  auto ctx = make_dnnl_context();
  GemmShape small{.m = 4, .n = 6, .k = 8, .precision = MatmulPrecision::BF16};
  GemmShape large{.m = 30, .n = 20, .k = 50, .precision = MatmulPrecision::BF16};
  Gemm g_small(*ctx, small), g_large(*ctx, large);
  Tensor a = test::random_tensor(DType::F32, {30 * 50}, 4), b = test::random_tensor(DType::F32, {50 * 20}, 5);
  std::vector<float> c1(4 * 6), c2(4 * 6), c_large(30 * 20);
  g_small.run(a.data<float>(), b.data<float>(), c1.data());
  g_large.run(a.data<float>(), b.data<float>(), c_large.data());
  g_small.run(a.data<float>(), b.data<float>(), c2.data());
  EXPECT_EQ(c1, c2);
  EXPECT_DEATH(g_large.run_same_b(a.data<float>(), b.data<float>(), c_large.data()), "staged B");
}

// The plan's precision reaches the matmul op's Gemm: bf16 results differ
// from f32 ones, within the tolerance; the plan's text says so.
TEST(Bf16Plan, MatmulOpFollowsTheCompileOption) {
  SKIP_WITHOUT_BF16();
  Graph g;
  Var x = input(g, "x", {DType::F32, {2, 24, 40}}), w = input(g, "w", {DType::F32, {2, 30, 40}});
  Var y = ops::matmul(x, w, false, true);
  test::Feeds feeds{{"x", test::random_tensor(DType::F32, {2, 24, 40}, 5)},
                    {"w", test::random_tensor(DType::F32, {2, 30, 40}, 6)}};
  CompileOptions bf16;
  bf16.matmul_precision = MatmulPrecision::BF16;
  Tensor want = test::run_graph(g, {y}, feeds)[0], got = test::run_graph(g, {y}, feeds, bf16)[0];
  double err = test::rel_l2_error(got, want);
  EXPECT_LT(err, kBf16Tolerance);
  EXPECT_GT(err, kAccumulationTolerance);
  EXPECT_NE(compile(g, {y.value}, bf16).explain().find("matmul precision: bf16"), std::string::npos);
  EXPECT_EQ(compile(g, {y.value}).explain().find("matmul precision"), std::string::npos);
}

// An LSTM sequence forward and backward (all seven of its GEMMs, W_hh
// rounded once per sequence): bf16 against f32. The recurrence compounds
// the rounding over S steps, hence twice the GEMM tolerance.
TEST(Bf16Plan, LstmSequenceForwardAndBackward) {
  SKIP_WITHOUT_BF16();
  const int64_t B = 6, S = 7, In = 20, H = 24;
  Graph g;
  Var x = input(g, "x", {DType::F32, {B, S, In}});
  Var lengths = input(g, "lengths", {DType::I32, {B}});
  Var h0 = input(g, "h0", {DType::F32, {B, H}}), c0 = input(g, "c0", {DType::F32, {B, H}});
  Var w_ih = input(g, "w_ih", {DType::F32, {4 * H, In}}), w_hh = input(g, "w_hh", {DType::F32, {4 * H, H}});
  Var b_ih = input(g, "b_ih", {DType::F32, {4 * H}}), b_hh = input(g, "b_hh", {DType::F32, {4 * H}});
  auto r = ops::lstm_sequence(x, lengths, {h0, c0}, w_ih, w_hh, b_ih, b_hh);
  Var loss = ops::sum(ops::mul(r.output, r.output));
  std::vector<Var> grads = grad(loss, {x, w_ih, w_hh});
  test::Feeds feeds{{"x", test::random_tensor(DType::F32, {B, S, In}, 7)},
                    {"lengths", test::int_tensor({B}, {7, 3, 7, 1, 5, 7})},
                    {"h0", test::random_tensor(DType::F32, {B, H}, 8)},
                    {"c0", test::random_tensor(DType::F32, {B, H}, 9)},
                    {"w_ih", test::random_tensor(DType::F32, {4 * H, In}, 10, -0.3, 0.3)},
                    {"w_hh", test::random_tensor(DType::F32, {4 * H, H}, 11, -0.3, 0.3)},
                    {"b_ih", test::random_tensor(DType::F32, {4 * H}, 12)},
                    {"b_hh", test::random_tensor(DType::F32, {4 * H}, 13)}};
  std::vector<Var> outs = {r.output, grads[0], grads[1], grads[2]};
  CompileOptions bf16;
  bf16.matmul_precision = MatmulPrecision::BF16;
  std::vector<Tensor> want = test::run_graph(g, outs, feeds), got = test::run_graph(g, outs, feeds, bf16);
  const char* names[] = {"output", "dx", "dw_ih", "dw_hh"};
  for (size_t i = 0; i < outs.size(); ++i) {
    double err = test::rel_l2_error(got[i], want[i]);
    EXPECT_LT(err, 2 * kBf16Tolerance) << names[i];
    EXPECT_GT(err, kAccumulationTolerance) << names[i];
  }
}

}  // namespace
}  // namespace loom
