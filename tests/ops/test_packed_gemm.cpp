// PackedGemm, the product of decoding steps on weights packed once: equal
// to the naive product at the decoding shapes (M = 1 greedy, 5 beam, 32 the
// row limit; B stored (N,K) as a linear layer's weight, and (K,N)); pack()
// again after B changes gives the new product, without it the old one (the
// copy is a copy); shapes outside its contract are refused with their sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "graph/errors.hpp"
#include "ops/dnnl/packed_gemm.hpp"
#include "tests/support/naive_gemm.hpp"

namespace loom {
namespace {

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (float& f : v) {
    x = x * 1664525u + 1013904223u;
    f = float(int32_t(x >> 8) % 2001 - 1000) / 1000.0f;
  }
  return v;
}

// Largest |packed - naive| over C, relative to the largest |naive|.
double max_relative_error(const GemmShape& s, const std::vector<float>& a, const std::vector<float>& b,
                          const std::vector<float>& c) {
  std::vector<double> ad(a.begin(), a.end()), bd(b.begin(), b.end()), cd(c.size(), 0.0);
  test::naive_gemm(s, ad, bd, cd);
  double err = 0, scale = 1e-30;
  for (size_t i = 0; i < c.size(); ++i) {
    err = std::max(err, std::abs(double(c[i]) - cd[i]));
    scale = std::max(scale, std::abs(cd[i]));
  }
  return err / scale;
}

std::string str(const GemmShape& s) {
  return "M=" + std::to_string(s.m) + " N=" + std::to_string(s.n) + " K=" + std::to_string(s.k) +
         " tb=" + std::to_string(s.trans_b);
}

TEST(PackedGemm, EqualsNaiveProductAtDecodingShapes) {
  auto ctx = make_dnnl_context();
  const int64_t nk[][2] = {{1024, 128}, {1024, 256}, {256, 768}, {2000, 256}, {2003, 512}, {13, 7}};
  for (int64_t m : {1, 5, 32})
    for (auto [n, k] : nk)
      for (bool tb : {true, false}) {
        GemmShape s{.m = m, .n = n, .k = k, .trans_b = tb};
        ASSERT_TRUE(packed_gemm_suits(s)) << str(s);
        PackedGemm g(*ctx, s);
        std::vector<float> a = random_floats(size_t(m * k), 1), b = random_floats(size_t(k * n), 2);
        std::vector<float> c(size_t(m * n), -7.0f);
        g.pack(b.data());
        g.run(a.data(), c.data());
        EXPECT_LT(max_relative_error(s, a, b, c), 1e-5) << str(s) << " " << g.impl_name();
      }
}

TEST(PackedGemm, ReadsTheBOfTheLastPack) {
  auto ctx = make_dnnl_context();
  GemmShape s{.m = 1, .n = 300, .k = 64, .trans_b = true};
  PackedGemm g(*ctx, s);
  std::vector<float> a = random_floats(64, 3), b = random_floats(64 * 300, 4), c(300);
  g.pack(b.data());
  std::vector<float> b_old = b;
  for (float& x : b) x = -2.0f * x + 0.5f;
  g.run(a.data(), c.data());
  EXPECT_LT(max_relative_error(s, a, b_old, c), 1e-5);  // still the packed copy of the old B
  g.pack(b.data());
  g.run(a.data(), c.data());
  EXPECT_LT(max_relative_error(s, a, b, c), 1e-5);
}

TEST(PackedGemm, RefusesShapesOutsideItsContract) {
  auto ctx = make_dnnl_context();
  EXPECT_THROW(PackedGemm(*ctx, GemmShape{.m = 1, .n = 8, .k = 8, .batch = 2}), BackendError);
  EXPECT_THROW(PackedGemm(*ctx, GemmShape{.m = 1, .n = 8, .k = 8, .accumulate = true}), BackendError);
  EXPECT_THROW(PackedGemm(*ctx, GemmShape{.m = 0, .n = 8, .k = 8}), BackendError);
  try {
    PackedGemm(*ctx, GemmShape{.m = 1, .n = 8, .k = 8, .ldb = 16});
    FAIL() << "a strided B was accepted";
  } catch (const BackendError& e) {
    EXPECT_NE(std::string(e.what()).find("M=1 N=8 K=8"), std::string::npos) << e.what();
  }
  PackedGemm g(*ctx, GemmShape{.m = 1, .n = 8, .k = 8});
  std::vector<float> a(8), c(8);
  EXPECT_THROW(g.run(a.data(), c.data()), BackendError);  // never packed
  EXPECT_FALSE(packed_gemm_suits({.m = 33, .n = 8, .k = 8}));
  EXPECT_FALSE(packed_gemm_suits({.m = 1, .n = 8, .k = 8, .precision = MatmulPrecision::BF16}));
  EXPECT_FALSE(packed_gemm_suits({.m = 1, .n = 8, .k = 8, .trans_a = true}));
}

}  // namespace
}  // namespace loom
