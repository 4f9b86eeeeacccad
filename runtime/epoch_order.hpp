// The order of a dataset's examples in an epoch: a pure function of (seed,
// epoch), the same on every machine and standard library, so that a resumed
// run and every rank of a data-parallel job serve the very same batches.
// Every model's data uses these (models/seq2seq/batcher.cpp, models/lm/data.cpp).
#pragma once
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace loom::runtime {

// The generator of one epoch's draws.
inline std::mt19937_64 epoch_rng(uint64_t seed, uint64_t epoch) {
  std::seed_seq seq{uint32_t(seed), uint32_t(seed >> 32), uint32_t(epoch), uint32_t(epoch >> 32)};
  return std::mt19937_64(seq);
}

// Fisher-Yates with the engine's raw output: the same on every standard
// library, unlike std::shuffle. The modulo bias (< n / 2^64) is irrelevant.
template <class T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
}

// n rounded up to a multiple of `multiple` (padded lengths: fewer plan shapes).
inline int64_t round_up(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

}  // namespace loom::runtime
