// The number format matrix products compute in, chosen per plan
// (CompileOptions::matmul_precision) and handed to each op's prepare hook.
// BF16: operands rounded to bfloat16, products accumulated and written in
// f32; parameters, gradients, optimiser state and every other op stay f32.
// f64 graphs (gradient checks) ignore it.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace loom {

enum class MatmulPrecision : uint8_t { F32, BF16 };

inline std::string_view precision_name(MatmulPrecision p) { return p == MatmulPrecision::BF16 ? "bf16" : "f32"; }

// "f32" or "bf16"; nullopt for anything else.
inline std::optional<MatmulPrecision> parse_precision(std::string_view name) {
  if (name == "f32") return MatmulPrecision::F32;
  if (name == "bf16") return MatmulPrecision::BF16;
  return std::nullopt;
}

}  // namespace loom
