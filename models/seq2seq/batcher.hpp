// Batches of padded id tensors for the encoder-decoder (docs/MODEL.md, Tokens).
// An epoch: pairs are grouped into buckets by source length (bucket_width
// tokens wide; 1 = exact source length, which suits oneDNN's LSTM), each
// bucket is shuffled and cut into batches, and the batches are shuffled. All
// randomness comes from std::mt19937_64 seeded from (seed, epoch) and our own
// Fisher-Yates shuffle (std::shuffle differs between standard libraries), so
// an epoch is reproducible anywhere: same seed and epoch -> same batches.
#pragma once
#include <cstdint>
#include <vector>

#include "graph/tensor.hpp"
#include "text/corpus.hpp"

namespace loom::models::seq2seq {

struct BatcherOptions {
  int64_t batch_size = 32;     // pairs per batch (the last of a bucket may be smaller)
  int64_t bucket_width = 4;    // source lengths per bucket, >= 1
  uint64_t seed = 1;
  bool shuffle = true;         // false: corpus order, no bucketing (evaluation)
  int64_t length_multiple = 1; // pad S and T up to a multiple of this (fewer plan shapes)
};

// B = pairs in the batch, S = longest source + 1 (<eos>), T = longest target + 1.
struct Batch {
  Tensor source;              // i32 (B,S): x1..xn <eos> <pad>...
  Tensor source_lengths;      // i32 (B): n + 1, counting <eos>
  Tensor target_input;        // i32 (B,T): <bos> y1..ym <pad>...
  Tensor target_output;       // i32 (B,T): y1..ym <eos> <pad>...
  std::vector<int64_t> pairs; // index of each row's pair in the corpus
  int64_t target_tokens = 0;  // non-pad entries of target_output
};

class Batcher {
 public:
  // Throws TextError for a bad option. Empty sides are allowed (<eos> only).
  Batcher(std::vector<text::EncodedPair> pairs, BatcherOptions options);

  int64_t num_pairs() const { return int64_t(pairs_.size()); }
  // Pair indices of each batch of one epoch, in the order they are served.
  std::vector<std::vector<int64_t>> epoch_plan(uint64_t epoch) const;
  std::vector<Batch> epoch(uint64_t epoch) const;
  // The padded tensors for the given pairs, in that row order.
  Batch make_batch(const std::vector<int64_t>& pair_indices) const;

 private:
  std::vector<text::EncodedPair> pairs_;
  BatcherOptions options_;
};

}  // namespace loom::models::seq2seq
