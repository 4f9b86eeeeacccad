#include "ops/dnnl/bf16.hpp"

#include <dnnl.hpp>

#include "ops/op_util.hpp"

namespace loom {

namespace {

using isa = dnnl::cpu_isa;

bool has_all(isa have, isa want) {
  const auto h = static_cast<unsigned>(have), w = static_cast<unsigned>(want);
  return (h & w) == w;  // oneDNN's ISA values are nested bit sets
}

}  // namespace

std::string effective_cpu_isa_name() {
  const isa effective = dnnl::get_effective_cpu_isa();
  // Widest first: each value contains the bits of the narrower ones.
  const std::pair<isa, const char*> names[] = {
      {isa::avx512_core_amx, "avx512_core_amx"}, {isa::avx512_core_bf16, "avx512_core_bf16"},
      {isa::avx512_core_vnni, "avx512_core_vnni"}, {isa::avx512_core, "avx512_core"},
      {isa::avx2_vnni, "avx2_vnni"}, {isa::avx2, "avx2"}, {isa::avx, "avx"}, {isa::sse41, "sse41"}};
  for (const auto& [value, name] : names)
    if (has_all(effective, value)) return name;
  return "none";
}

std::string bf16_unsupported_reason() {
  if (has_all(dnnl::get_effective_cpu_isa(), isa::avx512_core_bf16)) return "";
  return "bf16 matmuls need a CPU with AVX512-BF16 or AMX (Intel Cooper Lake, Sapphire Rapids or later, AMD Zen 4); "
         "oneDNN reports this CPU's best instruction set as " + effective_cpu_isa_name() +
         " (ONEDNN_MAX_CPU_ISA, if set, can hide it)";
}

void round_rows_to_bf16(const float* src, int64_t rows, int64_t cols, int64_t ld, uint16_t* dst) {
#pragma omp parallel for schedule(static) if (opu::worth_parallel(rows * cols))
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict s = src + r * ld;
    uint16_t* __restrict d = dst + r * cols;
    for (int64_t j = 0; j < cols; ++j) d[j] = round_to_bf16(s[j]);
  }
}

}  // namespace loom
