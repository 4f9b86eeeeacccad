#include "train/data_parallel.hpp"

#include <stdexcept>

namespace loom::models {

ShardedBatch shard_batch(const text::Batcher& batcher, const std::vector<int64_t>& pairs, int rank, int ranks) {
  ShardedBatch s;
  if (ranks == 1) {
    s.local = batcher.make_batch(pairs);
    s.global_tokens = s.local.target_tokens;
    return s;
  }
  s.global_tokens = batcher.make_batch(pairs).target_tokens;
  const size_t rows = pairs.size();
  const size_t begin = rows * size_t(rank) / size_t(ranks), end = rows * size_t(rank + 1) / size_t(ranks);
  if (begin < end)
    s.local = batcher.make_batch({pairs.begin() + ptrdiff_t(begin), pairs.begin() + ptrdiff_t(end)});
  return s;
}

void share_root_weights(dist::World& world, ParameterStore& params) {
  world.broadcast(params.values_data(), size_t(params.numel()) * dtype_size(params.dtype()),
                  "sharing rank 0's weights");
}

uint64_t fingerprint_bytes(const void* data, size_t bytes, uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) seed = (seed ^ p[i]) * 1099511628211ull;
  return seed;
}

void check_same_setup(dist::World& world, uint64_t fingerprint, const std::string& description) {
  uint64_t root = fingerprint;
  world.broadcast(&root, sizeof root, "comparing the ranks' data and models");
  const bool differs = root != fingerprint;
  if (world.any(differs, "comparing the ranks' data and models"))
    throw std::runtime_error(differs ? "rank " + std::to_string(world.rank()) + " has another setup than rank 0 (" +
                                           description + "): give every rank the same files and options"
                                     : "another rank's data or model differs from rank " +
                                           std::to_string(world.rank()) + "'s; that rank says which");
}

EvalResult sum_over_ranks(dist::World& world, const EvalResult& local) {
  double sums[3] = {local.loss_sum, double(local.tokens), double(local.correct)};
  world.sum(sums, 3, "summing the validation loss");
  return {sums[0], int64_t(sums[1]), int64_t(sums[2])};
}

}  // namespace loom::models
