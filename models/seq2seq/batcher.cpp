// Bucketing, seeded shuffling and padding of encoded pairs (see batcher.hpp).
#include "models/seq2seq/batcher.hpp"
#include "runtime/epoch_order.hpp"

#include <algorithm>
#include <map>
#include <random>

#include "text/tokenizer.hpp"

namespace loom::models::seq2seq {

namespace {

using runtime::epoch_rng;
using runtime::round_up;
using runtime::shuffle;

}  // namespace

Batcher::Batcher(std::vector<text::EncodedPair> pairs, BatcherOptions options)
    : pairs_(std::move(pairs)), options_(options) {
  if (options_.batch_size < 1) throw text::TextError("Batcher: batch_size must be >= 1, got " + std::to_string(options_.batch_size));
  if (options_.bucket_width < 1) throw text::TextError("Batcher: bucket_width must be >= 1, got " + std::to_string(options_.bucket_width));
  if (options_.length_multiple < 1)
    throw text::TextError("Batcher: length_multiple must be >= 1, got " + std::to_string(options_.length_multiple));
}

std::vector<std::vector<int64_t>> Batcher::epoch_plan(uint64_t epoch) const {
  const int64_t n = num_pairs(), b = options_.batch_size;
  std::vector<std::vector<int64_t>> batches;
  auto cut = [&](const std::vector<int64_t>& order) {
    for (size_t start = 0; start < order.size(); start += size_t(b))
      batches.emplace_back(order.begin() + int64_t(start), order.begin() + int64_t(std::min(start + size_t(b), order.size())));
  };
  if (!options_.shuffle) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
    cut(order);
    return batches;
  }
  std::mt19937_64 rng = epoch_rng(options_.seed, epoch);
  std::map<int64_t, std::vector<int64_t>> buckets;  // ordered: deterministic iteration
  for (int64_t i = 0; i < n; ++i) buckets[int64_t(pairs_[size_t(i)].source.size()) / options_.bucket_width].push_back(i);
  for (auto& [key, members] : buckets) {
    shuffle(members, rng);
    cut(members);
  }
  shuffle(batches, rng);
  return batches;
}

Batch Batcher::make_batch(const std::vector<int64_t>& pair_indices) const {
  const int64_t rows = int64_t(pair_indices.size());
  int64_t src_len = 1, tgt_len = 1;  // <eos> / <bos> at least
  for (int64_t i : pair_indices) {
    if (i < 0 || i >= num_pairs()) throw text::TextError("Batcher: pair index " + std::to_string(i) + " out of range");
    src_len = std::max(src_len, int64_t(pairs_[size_t(i)].source.size()) + 1);
    tgt_len = std::max(tgt_len, int64_t(pairs_[size_t(i)].target.size()) + 1);
  }
  src_len = round_up(src_len, options_.length_multiple);
  tgt_len = round_up(tgt_len, options_.length_multiple);
  Batch batch{Tensor(DType::I32, {rows, src_len}), Tensor(DType::I32, {rows}), Tensor(DType::I32, {rows, tgt_len}),
              Tensor(DType::I32, {rows, tgt_len}), pair_indices, 0};
  // Tensors start zero-filled, which is <pad>.
  int32_t* src = batch.source.data<int32_t>();
  int32_t* lengths = batch.source_lengths.data<int32_t>();
  int32_t* tgt_in = batch.target_input.data<int32_t>();
  int32_t* tgt_out = batch.target_output.data<int32_t>();
  for (int64_t r = 0; r < rows; ++r) {
    const text::EncodedPair& p = pairs_[size_t(pair_indices[size_t(r)])];
    const int64_t n = int64_t(p.source.size()), m = int64_t(p.target.size());
    std::copy(p.source.begin(), p.source.end(), src + r * src_len);
    src[r * src_len + n] = text::Vocabulary::kEos;
    lengths[r] = int32_t(n + 1);
    tgt_in[r * tgt_len] = text::Vocabulary::kBos;
    std::copy(p.target.begin(), p.target.end(), tgt_in + r * tgt_len + 1);
    std::copy(p.target.begin(), p.target.end(), tgt_out + r * tgt_len);
    tgt_out[r * tgt_len + m] = text::Vocabulary::kEos;
    batch.target_tokens += m + 1;
  }
  return batch;
}

std::vector<Batch> Batcher::epoch(uint64_t epoch) const {
  std::vector<Batch> batches;
  for (const auto& indices : epoch_plan(epoch)) batches.push_back(make_batch(indices));
  return batches;
}

}  // namespace loom::models::seq2seq
