// exp, log, tanh and sigmoid over float arrays, vectorised. The same
// branch-free polynomial code is compiled three times, for AVX-512, for
// AVX2+FMA and for the baseline x86-64, and the best one this processor
// supports is picked once at run time, so a binary built without
// -march=native still gets wide vectors and one built with it still runs
// on AVX2-only machines. Results are within a few ulp of the correctly
// rounded value (tests/ops/test_vmath.cpp bounds them); NaN, ±inf and zero
// behave as std::. Results below the smallest normal float may flush
// towards zero. y may equal x. f64 code keeps std:: (it serves gradient checks).
#pragma once
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

namespace loom::vmath {

void exp(const float* x, float* y, int64_t n);
void log(const float* x, float* y, int64_t n);
void tanh(const float* x, float* y, int64_t n);
void sigmoid(const float* x, float* y, int64_t n);

// For kernels templated on the float type: in f64, exp stays std::exp (exact,
// for the gradient checks).
inline void exp(const double* x, double* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

// One implementation of all four, for one instruction set.
struct Kernels {
  std::string_view isa;  // "avx512f", "avx2" or "baseline"
  void (*exp)(const float*, float*, int64_t);
  void (*log)(const float*, float*, int64_t);
  void (*tanh)(const float*, float*, int64_t);
  void (*sigmoid)(const float*, float*, int64_t);
};

// The kernels in use (the widest this processor supports).
const Kernels& active();
// Every implementation this processor can run, widest first (tests compare them all).
std::vector<Kernels> supported();

}  // namespace loom::vmath
