// BlockedGemm, the GEMM of deterministic plans: the same bits on 1, 2, 3 and
// 4 OpenMP threads (each count also creates its own primitives, as a plan
// compiled under it would), and the same product as the plain Gemm within
// f32 rounding, on shapes like the LSTM's weight gradients (K = B·S large).
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "graph/errors.hpp"
#include "ops/dnnl/blocked_gemm.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

struct Operands {
  Tensor a, b, c;  // stored with their leading dimensions; c holds the addend and the padding
};

Operands random_operands(const GemmShape& s) {
  int64_t lda = s.lda ? s.lda : (s.trans_a ? s.m : s.k), ldb = s.ldb ? s.ldb : (s.trans_b ? s.k : s.n);
  int64_t ldc = s.ldc ? s.ldc : s.n;
  int64_t na = s.batch * (s.trans_a ? s.k : s.m) * lda, nb = s.batch * (s.trans_b ? s.n : s.k) * ldb;
  return {test::random_tensor(DType::F32, {na}, 31), test::random_tensor(DType::F32, {nb}, 32),
          test::random_tensor(DType::F32, {s.batch * s.m * ldc}, 33)};
}

Tensor run_blocked(const GemmShape& s, const Operands& in, int threads) {
  omp_set_num_threads(threads);
  auto ctx = make_dnnl_context();
  BlockedGemm gemm(*ctx, s);
  Tensor c = in.c;  // a deep copy
  gemm.run(in.a.data<float>(), in.b.data<float>(), c.data<float>());
  return c;
}

Tensor run_plain(const GemmShape& s, const Operands& in) {
  auto ctx = make_dnnl_context();
  Gemm gemm(*ctx, s);
  Tensor c = in.c;  // a deep copy
  gemm.run(in.a.data<float>(), in.b.data<float>(), c.data<float>());
  return c;
}

// ‖x - y‖ / ‖y‖ over every stored element (padding included: it must match exactly).
double relative_error(const Tensor& x, const Tensor& y) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    double d = x.at(i) - y.at(i);
    num += d * d;
    den += y.at(i) * y.at(i);
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

std::string str(const GemmShape& s) {
  return "M=" + std::to_string(s.m) + " N=" + std::to_string(s.n) + " K=" + std::to_string(s.k) +
         " batch=" + std::to_string(s.batch) + " ta=" + std::to_string(s.trans_a) +
         " tb=" + std::to_string(s.trans_b) + " acc=" + std::to_string(s.accumulate);
}

class BlockedGemmTest : public ::testing::Test {
 protected:
  void TearDown() override { omp_set_num_threads(saved_); }

  void check(const GemmShape& s) {
    Operands in = random_operands(s);
    Tensor one = run_blocked(s, in, 1);
    for (int threads : {2, 3, 4}) {
      Tensor many = run_blocked(s, in, threads);
      EXPECT_EQ(std::memcmp(one.raw(), many.raw(), one.bytes()), 0) << str(s) << ": 1 vs " << threads << " threads";
    }
    omp_set_num_threads(saved_);
    EXPECT_LT(relative_error(one, run_plain(s, in)), 1e-5) << str(s);
  }

  int saved_ = omp_get_max_threads();
};

// dW_ih (4H,In) = dgates_t (4H,B·S) · x (B·S,In), and dW_hh with h_prev;
// edges that are not a multiple of the block on both sides.
TEST_F(BlockedGemmTest, WeightGradientShapesAreBitwiseEqualOnAnyThreadCount) {
  check({.m = 4 * 96, .n = 200, .k = 32 * 40});
  check({.m = 4 * 96, .n = 96, .k = 3001});
  check({.m = 300, .n = 130, .k = 2048, .trans_a = true});
  // oneDNN's own matmul (brg:avx512_core) gives other bits on 4 threads than on 1 here.
  check({.m = 256, .n = 128, .k = 4096, .trans_a = true});
}

TEST_F(BlockedGemmTest, TransposesStridesAccumulationAndBatches) {
  check({.m = 64, .n = 4 * 96, .k = 96, .trans_b = true, .accumulate = true});  // the recurrent step
  check({.m = 257, .n = 129, .k = 500, .trans_a = true, .trans_b = true, .lda = 300, .ldb = 510, .ldc = 140});
  check({.m = 130, .n = 70, .k = 640, .trans_b = true, .batch = 3});              // attention scores
  check({.m = 200, .n = 150, .k = 8});  // four blocks, too little work for a team: run in turn
  check({.m = 1, .n = 1, .k = 1});
}

TEST_F(BlockedGemmTest, BlocksDependOnTheShapeOnly) {
  auto ctx = make_dnnl_context();
  GemmShape s{.m = 300, .n = 129, .k = 64, .batch = 2};
  for (int threads : {1, 3}) {
    omp_set_num_threads(threads);
    EXPECT_EQ(BlockedGemm(*ctx, s).blocks(), size_t(2 * 3 * 2));  // batch x ceil(300/128) x ceil(129/128)
  }
  EXPECT_EQ(omp_get_max_threads(), 3) << "creating the blocks must leave the caller's thread count as it was";
}

TEST_F(BlockedGemmTest, RejectsBadSizesNamingTheShape) {
  auto ctx = make_dnnl_context();
  try {
    BlockedGemm(*ctx, {.m = 0, .n = 4, .k = 4});
    FAIL() << "M=0 was accepted";
  } catch (const BackendError& e) {
    EXPECT_NE(std::string(e.what()).find("M=0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(BlockedGemm(*ctx, {.m = 4, .n = 4, .k = 4, .lda = 3}), BackendError);
}

}  // namespace
}  // namespace loom
