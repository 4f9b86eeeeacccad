// The sgemm rate this machine gives right now, for the profiler's "achieved
// fraction": a shared, busy machine can be far below its peak, so the table
// compares against a GEMM timed on the spot rather than a datasheet figure.
#pragma once
#include <cstdint>

namespace loom {

// GF/s of a plain row-major (m,k)·(k,n) oneDNN sgemm, best of a few runs of
// about `seconds` in all, on the current OpenMP thread count.
double measure_sgemm_gflops(int64_t m, int64_t n, int64_t k, double seconds = 0.2);

}  // namespace loom
