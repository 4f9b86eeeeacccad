// One scalar formula per function, written without branches or library calls
// so that the loops vectorise; each loop is compiled once per instruction set
// through always_inline into target-attributed wrappers.
//   exp:  x = n·ln2 + r, |r| ≤ ln2/2 (n rounded with the 1.5·2^23 trick, which
//         needs no SSE4.1 floor); exp(r) by a degree-7 polynomial; 2^n built
//         in the exponent bits as two factors so that subnormal results and
//         n = 128 stay representable.
//   log:  x = m·2^e, m in [√½, √2); log(1+f) = f − f²/2 + f³·P(f).
//   tanh: an odd polynomial below |x| = 0.625 (where 1 − 2/(e^2x + 1)
//         cancels), the exp form above it.
//   sigmoid: 1/(1 + e^−x), which loses nothing to cancellation.
// The polynomial coefficients are the classic minimax fits for single
// precision (as in Cephes' expf, logf, tanhf).
#include "ops/vmath.hpp"

#include <bit>
#include <limits>

namespace loom::vmath {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kExpHi = 88.7228394f;   // log(FLT_MAX): above, exp overflows
constexpr float kExpLo = -103.972084f;  // below, exp is under half the smallest subnormal
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;  // ln2 = hi + lo, hi exact in few bits

[[gnu::always_inline]] inline float exp_one(float x) {
  float xc = x < kExpLo ? kExpLo : x;  // comparisons are false for NaN: it flows through
  xc = xc > kExpHi ? kExpHi : xc;
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = (xc - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t ni = int32_t(n == n ? n : 0.0f);
  int32_t half = ni >> 1;
  float y = p * std::bit_cast<float>((half + 127) << 23) * std::bit_cast<float>((ni - half + 127) << 23);
  y = x > kExpHi ? kInf : y;
  return x < kExpLo ? 0.0f : y;
}

[[gnu::always_inline]] inline float log_one(float x) {
  const bool subnormal = x < std::numeric_limits<float>::min();
  float xs = subnormal ? x * 8388608.0f : x;  // 2^23 makes a subnormal normal
  int32_t bits = std::bit_cast<int32_t>(xs);
  int32_t e = ((bits >> 23) & 0xff) - 126 - (subnormal ? 23 : 0);
  float m = std::bit_cast<float>((bits & 0x007fffff) | 0x3f000000);  // [0.5, 1)
  const bool low = m < 0.707106781186547524f;
  e = low ? e - 1 : e;
  float f = low ? (m + m) - 1.0f : m - 1.0f;
  float z = f * f;
  float p = 7.0376836292e-2f;
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  float ef = float(e);
  float y = f * z * p + ef * kLn2Lo;
  y = (f + (y - 0.5f * z)) + ef * kLn2Hi;
  y = x == kInf ? kInf : y;
  y = x == 0.0f ? -kInf : y;
  y = x < 0.0f ? kNaN : y;
  return x != x ? x : y;
}

[[gnu::always_inline]] inline float tanh_one(float x) {
  float a = x < 0.0f ? -x : x;
  float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  float near_zero = x * (1.0f + p * z);  // not x + x·z·p, which turns −0 into +0
  float far = 1.0f - 2.0f / (exp_one(a + a) + 1.0f);
  far = x < 0.0f ? -far : far;
  return a < 0.625f ? near_zero : far;
}

[[gnu::always_inline]] inline float sigmoid_one(float x) { return 1.0f / (1.0f + exp_one(-x)); }

// `omp simd`: y may be x, which is safe (each element is read before it is
// written) but would otherwise make the vectoriser fall back to scalar code.
#define LOOM_VMATH_LOOP(name)                                                     \
  [[gnu::always_inline]] inline void name##_loop(const float* x, float* y, int64_t n) { \
    _Pragma("omp simd") for (int64_t i = 0; i < n; ++i) y[i] = name##_one(x[i]); \
  }
LOOM_VMATH_LOOP(exp)
LOOM_VMATH_LOOP(log)
LOOM_VMATH_LOOP(tanh)
LOOM_VMATH_LOOP(sigmoid)
#undef LOOM_VMATH_LOOP

#define LOOM_VMATH_KERNELS(isa, attr)                                                                 \
  attr void exp_##isa(const float* x, float* y, int64_t n) { exp_loop(x, y, n); }                     \
  attr void log_##isa(const float* x, float* y, int64_t n) { log_loop(x, y, n); }                     \
  attr void tanh_##isa(const float* x, float* y, int64_t n) { tanh_loop(x, y, n); }                   \
  attr void sigmoid_##isa(const float* x, float* y, int64_t n) { sigmoid_loop(x, y, n); }             \
  constexpr Kernels kernels_##isa{#isa, exp_##isa, log_##isa, tanh_##isa, sigmoid_##isa};
LOOM_VMATH_KERNELS(avx512f, [[gnu::target("avx512f")]])
LOOM_VMATH_KERNELS(avx2, [[gnu::target("avx2,fma")]])
LOOM_VMATH_KERNELS(baseline, )
#undef LOOM_VMATH_KERNELS

const Kernels& pick() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return kernels_avx512f;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return kernels_avx2;
  return kernels_baseline;
}

}  // namespace

const Kernels& active() {
  static const Kernels& chosen = pick();
  return chosen;
}

std::vector<Kernels> supported() {
  std::vector<Kernels> all;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) all.push_back(kernels_avx512f);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) all.push_back(kernels_avx2);
  all.push_back(kernels_baseline);
  return all;
}

void exp(const float* x, float* y, int64_t n) { active().exp(x, y, n); }
void log(const float* x, float* y, int64_t n) { active().log(x, y, n); }
void tanh(const float* x, float* y, int64_t n) { active().tanh(x, y, n); }
void sigmoid(const float* x, float* y, int64_t n) { active().sigmoid(x, y, n); }

}  // namespace loom::vmath
