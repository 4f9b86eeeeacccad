// A reference GEMM in double with GemmShape's conventions (stored matrices
// with row strides lda/ldb/ldc, batch stride = stored rows × ld, C += when
// accumulate), and the sizes of the stored operands, for the Gemm tests.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/dnnl/gemm.hpp"

namespace loom::test {

void naive_gemm(const GemmShape& s, const std::vector<double>& a, const std::vector<double>& b,
                std::vector<double>& c);

// Elements of the stored A, B and C of `s`, leading dimensions and batches included.
struct StoredSizes {
  int64_t a, b, c;
};
StoredSizes stored_sizes(const GemmShape& s);

}  // namespace loom::test
