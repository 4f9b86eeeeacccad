// bfloat16 for the GEMMs of `--precision bf16`: whether this CPU runs them
// (asked of oneDNN at run time, so ONEDNN_MAX_CPU_ISA can hide the feature),
// and the f32 -> bf16 rounding of GEMM operands. bf16 is the top half of an
// f32 (8 exponent bits, 7 stored mantissa bits): rounding to nearest even
// keeps a relative error of at most 2^-9 per operand.
#pragma once
#include <cstdint>
#include <string>

namespace loom {

// Empty when oneDNN can run bf16 matmuls on AVX512-BF16 or AMX here; else
// why not, naming the instruction set oneDNN reports.
std::string bf16_unsupported_reason();
// oneDNN's name for the best instruction set it will use ("avx512_core_amx").
std::string effective_cpu_isa_name();

// Round-to-nearest-even f32 -> bf16 bits; NaN stays NaN, ±inf stays ±inf,
// values past the largest bf16 become ±inf.
inline uint16_t round_to_bf16(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, sizeof u);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const uint32_t quiet_nan = (u >> 16) | 0x40u;
  return uint16_t((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
}

inline float bf16_to_float(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  __builtin_memcpy(&f, &u, sizeof f);
  return f;
}

// dst (rows, cols) dense = src (rows, cols) with row stride ld, rounded.
// Parallel over rows when large enough to pay for a thread team.
void round_rows_to_bf16(const float* src, int64_t rows, int64_t cols, int64_t ld, uint16_t* dst);

}  // namespace loom
