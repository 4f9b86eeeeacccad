#include "models/seq2seq/synthetic_batch.hpp"

#include <random>
#include <stdexcept>
#include <string>

namespace loom::models::seq2seq {

namespace {

constexpr BenchConfig kConfigs[] = {{"tiny", 16, 8, 32, 64, 200},
                                    {"small", 32, 16, 128, 256, 2000},
                                    {"medium", 64, 32, 256, 512, 8000},
                                    {"long", 32, 100, 128, 256, 2000}};

Tensor random_ids(int64_t B, int64_t L, int64_t V, std::mt19937_64& rng) {
  std::uniform_int_distribution<int32_t> u(4, int32_t(V - 1));
  Tensor t(DType::I32, {B, L});
  for (int64_t i = 0; i < t.numel(); ++i) t.data<int32_t>()[i] = u(rng);
  return t;
}

}  // namespace

std::span<const BenchConfig> bench_configs() { return kConfigs; }

const BenchConfig& bench_config(std::string_view name) {
  std::string known;
  for (const BenchConfig& c : kConfigs) {
    if (c.name == name) return c;
    known += (known.empty() ? "" : ", ") + std::string(c.name);
  }
  throw std::invalid_argument("unknown configuration '" + std::string(name) + "' (known: " + known + ")");
}

Seq2SeqConfig bench_model_config(const BenchConfig& c) {
  Seq2SeqConfig m;
  m.src_vocab = m.tgt_vocab = c.V;
  m.embed = c.E;
  m.hidden = c.H;
  return m;
}

seq2seq::Batch synthetic_batch(const BenchConfig& c) {
  std::mt19937_64 rng(3);
  seq2seq::Batch b;
  b.source = random_ids(c.B, c.S, c.V, rng);
  b.source_lengths = Tensor(DType::I32, {c.B});
  for (int64_t i = 0; i < c.B; ++i) b.source_lengths.data<int32_t>()[i] = int32_t(c.S);
  b.target_input = random_ids(c.B, c.S, c.V, rng);
  b.target_output = random_ids(c.B, c.S, c.V, rng);
  b.target_tokens = c.B * c.S;
  return b;
}

}  // namespace loom::models::seq2seq
