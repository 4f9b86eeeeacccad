// The benchmark configurations of docs/PERFORMANCE.md and their synthetic
// batches (random ids, every sentence of the full length, no padding), shared
// by `loom bench`, bench/bench_seq2seq.cpp and bench/compare_pytorch.py's
// PyTorch side (which repeats the table; `loom bench --list` prints it).
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

#include "models/seq2seq/seq2seq.hpp"
#include "models/seq2seq/batcher.hpp"

namespace loom::models::seq2seq {

struct BenchConfig {
  std::string_view name;
  int64_t B, S, E, H, V;  // batch, source = target length, embedding, hidden, both vocabularies
};

std::span<const BenchConfig> bench_configs();
// Throws std::invalid_argument listing the known names.
const BenchConfig& bench_config(std::string_view name);

Seq2SeqConfig bench_model_config(const BenchConfig& c);
// Ids uniform in [4, V) from a fixed seed.
seq2seq::Batch synthetic_batch(const BenchConfig& c);

}  // namespace loom::models::seq2seq
