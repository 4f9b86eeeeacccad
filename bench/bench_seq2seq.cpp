// One training step of the attention translator (forward, backward, global
// norm clipping, Adam) at the four configurations of docs/PERFORMANCE.md, on a synthetic
// batch of full-length sentences; plus greedy decoding latency of one
// 20-token sentence. Counters: target tokens/s. Threads follow
// OMP_NUM_THREADS. BM_TrainStepBf16 is the step with bf16 matrix products
// (`loom train --precision bf16`). The PyTorch side of the comparison is
// bench/compare_pytorch.py (the twin in tests/python/loom_torch.py), which
// runs both interleaved; docs/PERFORMANCE.md has the figures.
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "models/decode.hpp"
#include "models/seq2seq.hpp"
#include "ops/dnnl/bf16.hpp"
#include "optim/optimizer.hpp"

namespace loom::models {
namespace {

struct Config {
  const char* name;
  int64_t B, S, E, H, V;
};
constexpr Config kConfigs[] = {{"tiny", 16, 8, 32, 64, 200},
                               {"small", 32, 16, 128, 256, 2000},
                               {"medium", 64, 32, 256, 512, 8000},
                               {"long", 32, 100, 128, 256, 2000}};

// Random ids in [4, V): no padding, every sentence of the full length.
Tensor random_ids(int64_t B, int64_t L, int64_t V, std::mt19937_64& rng) {
  std::uniform_int_distribution<int32_t> u(4, int32_t(V - 1));
  Tensor t(DType::I32, {B, L});
  for (int64_t i = 0; i < t.numel(); ++i) t.data<int32_t>()[i] = u(rng);
  return t;
}

text::Batch synthetic_batch(const Config& c) {
  std::mt19937_64 rng(3);
  text::Batch b;
  b.source = random_ids(c.B, c.S, c.V, rng);
  b.source_lengths = Tensor(DType::I32, {c.B});
  for (int64_t i = 0; i < c.B; ++i) b.source_lengths.data<int32_t>()[i] = int32_t(c.S);
  b.target_input = random_ids(c.B, c.S, c.V, rng);
  b.target_output = random_ids(c.B, c.S, c.V, rng);
  b.target_tokens = c.B * c.S;
  return b;
}

Seq2SeqConfig model_config(const Config& c) {
  Seq2SeqConfig m;
  m.src_vocab = m.tgt_vocab = c.V;
  m.embed = c.E;
  m.hidden = c.H;
  return m;
}

void train_steps(benchmark::State& state, MatmulPrecision precision) {
  const Config& c = kConfigs[state.range(0)];
  Seq2SeqConfig config = model_config(c);
  config.matmul_precision = precision;
  Seq2Seq model(config);
  model.init_parameters(1);
  auto adam = optim::make_optimizer({}, model.params());
  text::Batch batch = synthetic_batch(c);
  model.train_step_gradients(batch);  // compile and warm up outside the timing
  for (auto _ : state) {
    model.train_step_gradients(batch);
    optim::clip_and_step(*adam, model.params(), 1.0, 1e-3);
  }
  state.SetLabel(std::string(c.name) + (precision == MatmulPrecision::BF16 ? " bf16" : ""));
  state.counters["tok/s"] = benchmark::Counter(double(c.B * c.S), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_TrainStep(benchmark::State& state) { train_steps(state, MatmulPrecision::F32); }

// The same with --precision bf16's matrix products; reports an error where the CPU lacks bf16.
void BM_TrainStepBf16(benchmark::State& state) {
  if (std::string why = bf16_unsupported_reason(); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  train_steps(state, MatmulPrecision::BF16);
}

void BM_GreedyDecode20(benchmark::State& state) {
  Config c = kConfigs[state.range(0)];
  Seq2Seq model(model_config(c));
  model.init_parameters(1);
  Decoder decoder(model);
  std::vector<int32_t> source(20);
  for (int32_t i = 0; i < 20; ++i) source[size_t(i)] = 4 + i;
  decoder.greedy(source, 20);
  for (auto _ : state) benchmark::DoNotOptimize(decoder.greedy(source, 20));
  state.SetLabel(c.name);
}

BENCHMARK(BM_TrainStep)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainStepBf16)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GreedyDecode20)->DenseRange(0, 1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace loom::models

BENCHMARK_MAIN();
