#include "train/data_parallel.hpp"

#include <stdexcept>

namespace loom::train {

ShardedBatch shard_batch(const runtime::Dataset& data, const std::vector<int64_t>& examples, int rank, int ranks) {
  ShardedBatch s;
  if (ranks == 1) {
    s.local = data.make_batch(examples);
    s.global_tokens = s.local->loss_tokens();
    return s;
  }
  s.global_tokens = data.make_batch(examples)->loss_tokens();
  const size_t rows = examples.size();
  const size_t begin = rows * size_t(rank) / size_t(ranks), end = rows * size_t(rank + 1) / size_t(ranks);
  if (begin < end) s.local = data.make_batch(std::span(examples).subspan(begin, end - begin));
  return s;
}

void share_root_weights(distributed::World& world, ParameterStore& params) {
  world.broadcast(params.values_data(), size_t(params.numel()) * dtype_size(params.dtype()),
                  "sharing rank 0's weights");
}

uint64_t fingerprint_bytes(const void* data, size_t bytes, uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) seed = (seed ^ p[i]) * 1099511628211ull;
  return seed;
}

void check_same_setup(distributed::World& world, uint64_t fingerprint, const std::string& description) {
  uint64_t root = fingerprint;
  world.broadcast(&root, sizeof root, "comparing the ranks' data and models");
  const bool differs = root != fingerprint;
  if (world.any(differs, "comparing the ranks' data and models"))
    throw std::runtime_error(differs ? "rank " + std::to_string(world.rank()) + " has another setup than rank 0 (" +
                                           description + "): give every rank the same files and options"
                                     : "another rank's data or model differs from rank " +
                                           std::to_string(world.rank()) + "'s; that rank says which");
}

runtime::Evaluation sum_over_ranks(distributed::World& world, const runtime::Evaluation& local,
                                   const std::vector<std::string>& count_names) {
  std::vector<double> sums{local.loss_sum, double(local.tokens)};
  for (const std::string& name : count_names) {
    auto it = local.counts.find(name);
    sums.push_back(it == local.counts.end() ? 0.0 : it->second);
  }
  world.sum(sums.data(), sums.size(), "summing the validation loss");
  runtime::Evaluation total{sums[0], int64_t(sums[1]), {}};
  for (size_t i = 0; i < count_names.size(); ++i) total.counts[count_names[i]] = sums[2 + i];
  return total;
}

}  // namespace loom::train
