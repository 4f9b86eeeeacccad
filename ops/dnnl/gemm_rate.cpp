#include "ops/dnnl/gemm_rate.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include "ops/dnnl/gemm.hpp"

namespace loom {

double measure_sgemm_gflops(int64_t m, int64_t n, int64_t k, double seconds) {
  std::shared_ptr<DnnlContext> ctx = make_dnnl_context();
  Gemm gemm(*ctx, {.m = m, .n = n, .k = k});
  std::vector<float> a(size_t(m * k), 0.5f), b(size_t(k * n), 0.25f), c(size_t(m * n));
  gemm.run(a.data(), b.data(), c.data());  // first run: JIT and thread start-up
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::duration<double>(seconds);
  double best = 0;
  do {
    const auto start = clock::now();
    gemm.run(a.data(), b.data(), c.data());
    best = std::max(best, 2.0 * double(m) * double(n) * double(k) /
                              std::chrono::duration<double>(clock::now() - start).count() * 1e-9);
  } while (clock::now() < deadline);
  return best;
}

}  // namespace loom
