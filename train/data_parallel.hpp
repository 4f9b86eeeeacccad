// What the training loop asks of its ranks (dist/, docs/DISTRIBUTED.md):
// every rank plans the same global batches in the same order and trains on
// its contiguous share of each one's rows; the gradients, weighted by each
// share's target tokens, are summed so that every rank applies the update one
// process would have applied to the whole batch.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "distributed/world.hpp"
#include "graph/parameters.hpp"
#include "runtime/model.hpp"

namespace loom::train {

struct ShardedBatch {
  std::unique_ptr<runtime::Batch> local;  // this rank's rows; null when the batch has fewer rows than ranks
  int64_t global_tokens = 0;              // loss tokens of the whole global batch
  bool empty() const { return !local; }
  // This rank's share of the batch's loss: its gradient's weight in the sum.
  double weight() const {
    return global_tokens > 0 && local ? double(local->loss_tokens()) / double(global_tokens) : 0.0;
  }
};

// Rows [B·rank/ranks, B·(rank+1)/ranks) of the global batch `examples`.
ShardedBatch shard_batch(const runtime::Dataset& data, const std::vector<int64_t>& examples, int rank, int ranks);

// Rank 0's weights to every rank, so that all start from the same ones
// whatever their random generators or checkpoint files hold.
void share_root_weights(distributed::World& world, ParameterStore& params);

// Throws std::runtime_error on every rank when any rank's setup (its data,
// vocabularies and parameter layout, summed up in `fingerprint`) differs from
// rank 0's: those ranks would train different models.
void check_same_setup(distributed::World& world, uint64_t fingerprint, const std::string& description);

// An order-sensitive hash of bytes (FNV-1a), for fingerprints.
uint64_t fingerprint_bytes(const void* data, size_t bytes, uint64_t seed = 14695981039346656037ull);

// Loss sums, token counts and the model's counts (`count_names`, each
// present on every rank) of each rank's share of the validation set, summed.
runtime::Evaluation sum_over_ranks(distributed::World& world, const runtime::Evaluation& local,
                                   const std::vector<std::string>& count_names);

}  // namespace loom::train
