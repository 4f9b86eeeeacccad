// OneThreadScope: the OpenMP thread count is 1 for the scope's lifetime,
// then the caller's again. oneDNN reads the count when it makes a primitive
// and may choose its kernel and blocking from it, and its gemm-based kernels
// read it again when they run outside an active parallel region. A product
// that must be one thread's work whatever the caller's setting (a block of a
// deterministic GEMM, one chunk of the LSTM's recurrence) is made, and run
// outside a team, under one.
#pragma once
#include <omp.h>

namespace loom {

class OneThreadScope {
 public:
  OneThreadScope() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~OneThreadScope() { omp_set_num_threads(saved_); }
  OneThreadScope(const OneThreadScope&) = delete;
  OneThreadScope& operator=(const OneThreadScope&) = delete;

 private:
  int saved_;
};

}  // namespace loom
