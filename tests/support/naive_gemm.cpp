#include "tests/support/naive_gemm.hpp"

namespace loom::test {

namespace {
struct Lds {
  int64_t a, b, c;
};
Lds leading_dims(const GemmShape& s) {
  return {s.lda ? s.lda : (s.trans_a ? s.m : s.k), s.ldb ? s.ldb : (s.trans_b ? s.k : s.n), s.ldc ? s.ldc : s.n};
}
}  // namespace

StoredSizes stored_sizes(const GemmShape& s) {
  Lds ld = leading_dims(s);
  return {s.batch * (s.trans_a ? s.k : s.m) * ld.a, s.batch * (s.trans_b ? s.n : s.k) * ld.b, s.batch * s.m * ld.c};
}

void naive_gemm(const GemmShape& s, const std::vector<double>& a, const std::vector<double>& b,
                std::vector<double>& c) {
  Lds ld = leading_dims(s);
  int64_t sa = (s.trans_a ? s.k : s.m) * ld.a, sb = (s.trans_b ? s.n : s.k) * ld.b, sc = s.m * ld.c;
  for (int64_t bi = 0; bi < s.batch; ++bi)
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < s.k; ++p) {
          double av = s.trans_a ? a[size_t(bi * sa + p * ld.a + i)] : a[size_t(bi * sa + i * ld.a + p)];
          double bv = s.trans_b ? b[size_t(bi * sb + j * ld.b + p)] : b[size_t(bi * sb + p * ld.b + j)];
          acc += av * bv;
        }
        double& out = c[size_t(bi * sc + i * ld.c + j)];
        out = s.accumulate ? out + acc : acc;
      }
}

}  // namespace loom::test
