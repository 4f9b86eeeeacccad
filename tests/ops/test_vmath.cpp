// Vectorised exp/log/tanh/sigmoid against std:: in double precision, for every
// implementation this processor can run (AVX-512, AVX2, baseline): a dense
// sweep of each useful range bounded in relative error, plus NaN, ±inf, ±0,
// overflow, underflow and subnormal inputs, and in-place use.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/vmath.hpp"

namespace loom::vmath {
namespace {

using ArrayFn = void (*)(const float*, float*, int64_t);
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// n + 1 points from lo to hi, evenly spaced.
std::vector<float> sweep(double lo, double hi, int n) {
  std::vector<float> x;
  for (int i = 0; i <= n; ++i) x.push_back(float(lo + (hi - lo) * i / n));
  return x;
}

// Largest |f(x) − ref(x)| / |ref(x)| over xs; ref in double.
double max_rel_error(ArrayFn f, double (*ref)(double), const std::vector<float>& xs, float* worst) {
  std::vector<float> y(xs.size());
  f(xs.data(), y.data(), int64_t(xs.size()));
  double err = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    double r = ref(double(xs[i]));
    double e = r == 0 ? std::abs(double(y[i])) : std::abs(double(y[i]) - r) / std::abs(r);
    if (!(e <= err)) {
      err = e;
      *worst = xs[i];
    }
  }
  return err;
}

double ref_sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double ref_exp(double x) { return std::exp(x); }
double ref_log(double x) { return std::log(x); }
double ref_tanh(double x) { return std::tanh(x); }

// 2^-23 is one ulp at 1.0. Measured maxima are 0.7 (exp, log) to 1.2 (tanh,
// sigmoid) of it on every implementation; the bound is 2.
constexpr double kUlp = 1.0 / (1 << 23);

float apply(ArrayFn f, float x) {
  float y;
  f(&x, &y, 1);
  return y;
}

}  // namespace

void PrintTo(const Kernels& k, std::ostream* os) { *os << k.isa; }

namespace {

class Vmath : public ::testing::TestWithParam<Kernels> {};

TEST_P(Vmath, ExpIsAccurateOverItsNormalRange) {
  float worst = 0;
  EXPECT_LT(max_rel_error(GetParam().exp, ref_exp, sweep(-87.0, 88.7, 2'000'003), &worst), 2 * kUlp) << worst;
  EXPECT_LT(max_rel_error(GetParam().exp, ref_exp, sweep(-1e-3, 1e-3, 200'001), &worst), 2 * kUlp) << worst;
}

TEST_P(Vmath, LogIsAccurateFromSubnormalsToTheTop) {
  float worst = 0;
  EXPECT_LT(max_rel_error(GetParam().log, ref_log, sweep(1e-6, 10.0, 2'000'003), &worst), 2 * kUlp) << worst;
  EXPECT_LT(max_rel_error(GetParam().log, ref_log, sweep(0.9, 1.1, 2'000'003), &worst), 2 * kUlp) << worst;
  std::vector<float> wide;
  for (float x = 1e-44f; x < 3e38f; x = std::max(x * 1.0013f, std::nextafter(x, kInf))) wide.push_back(x);
  EXPECT_LT(max_rel_error(GetParam().log, ref_log, wide, &worst), 2 * kUlp) << worst;
}

TEST_P(Vmath, TanhIsAccurateNearZeroAndFarOut) {
  float worst = 0;
  EXPECT_LT(max_rel_error(GetParam().tanh, ref_tanh, sweep(-10.0, 10.0, 2'000'003), &worst), 2 * kUlp) << worst;
  EXPECT_LT(max_rel_error(GetParam().tanh, ref_tanh, sweep(-1e-3, 1e-3, 200'001), &worst), 2 * kUlp) << worst;
  EXPECT_LT(max_rel_error(GetParam().tanh, ref_tanh, sweep(-1e-30, 1e-30, 2001), &worst), 2 * kUlp) << worst;
}

TEST_P(Vmath, SigmoidIsAccurateWhereItIsNormal) {
  float worst = 0;
  EXPECT_LT(max_rel_error(GetParam().sigmoid, ref_sigmoid, sweep(-87.0, 30.0, 2'000'003), &worst), 2 * kUlp) << worst;
}

TEST_P(Vmath, SpecialValuesBehaveAsStd) {
  const Kernels& k = GetParam();
  EXPECT_TRUE(std::isnan(apply(k.exp, kNaN)));
  EXPECT_EQ(apply(k.exp, kInf), kInf);
  EXPECT_EQ(apply(k.exp, -kInf), 0.0f);
  EXPECT_EQ(apply(k.exp, 89.0f), kInf);
  EXPECT_EQ(apply(k.exp, 1000.0f), kInf);
  EXPECT_EQ(apply(k.exp, -1000.0f), 0.0f);
  EXPECT_EQ(apply(k.exp, 0.0f), 1.0f);
  EXPECT_LT(apply(k.exp, -100.0f), 1e-43f);  // subnormal territory: tiny, not garbage
  EXPECT_GE(apply(k.exp, -100.0f), 0.0f);

  EXPECT_TRUE(std::isnan(apply(k.log, kNaN)));
  EXPECT_TRUE(std::isnan(apply(k.log, -1.0f)));
  EXPECT_TRUE(std::isnan(apply(k.log, -kInf)));
  EXPECT_EQ(apply(k.log, 0.0f), -kInf);
  EXPECT_EQ(apply(k.log, -0.0f), -kInf);
  EXPECT_EQ(apply(k.log, kInf), kInf);
  EXPECT_EQ(apply(k.log, 1.0f), 0.0f);

  EXPECT_TRUE(std::isnan(apply(k.tanh, kNaN)));
  EXPECT_EQ(apply(k.tanh, kInf), 1.0f);
  EXPECT_EQ(apply(k.tanh, -kInf), -1.0f);
  EXPECT_EQ(apply(k.tanh, 50.0f), 1.0f);
  EXPECT_EQ(apply(k.tanh, 0.0f), 0.0f);
  EXPECT_TRUE(std::signbit(apply(k.tanh, -0.0f)));

  EXPECT_TRUE(std::isnan(apply(k.sigmoid, kNaN)));
  EXPECT_EQ(apply(k.sigmoid, kInf), 1.0f);
  EXPECT_EQ(apply(k.sigmoid, -kInf), 0.0f);
  EXPECT_EQ(apply(k.sigmoid, 0.0f), 0.5f);
  EXPECT_EQ(apply(k.sigmoid, 100.0f), 1.0f);
  EXPECT_LT(apply(k.sigmoid, -100.0f), 1e-43f);
}

// In place and at lengths that leave vector remainders.
TEST_P(Vmath, InPlaceMatchesOutOfPlace) {
  for (int64_t n : {1, 7, 16, 33, 1000}) {
    std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) x[size_t(i)] = float(i % 17) * 0.37f - 3.0f;
    for (ArrayFn f : {GetParam().exp, GetParam().tanh, GetParam().sigmoid}) {
      std::vector<float> in_place = x;
      f(x.data(), y.data(), n);
      f(in_place.data(), in_place.data(), n);
      EXPECT_EQ(in_place, y) << n;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EverySupportedIsa, Vmath, ::testing::ValuesIn(supported()),
                         [](const auto& info) { return std::string(info.param.isa); });

TEST(VmathDispatch, ActiveIsTheWidestSupported) { EXPECT_EQ(active().isa, supported().front().isa); }

}  // namespace
}  // namespace loom::vmath
