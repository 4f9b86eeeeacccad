// One training step of the attention translator (forward, backward, global
// norm clipping, Adam) at the four configurations of docs/PERFORMANCE.md, on a synthetic
// batch of full-length sentences, and small and medium again with deterministic
// plans (`loom train --deterministic`); plus greedy decoding latency of one
// 20-token sentence. Counters: target tokens/s. Threads follow
// OMP_NUM_THREADS. The PyTorch side of the comparison is
// bench/compare_pytorch.py (the twin in tests/python/loom_torch.py), which
// runs both interleaved; docs/PERFORMANCE.md has the figures.
#include <benchmark/benchmark.h>

#include <random>

#include "models/decode.hpp"
#include "models/seq2seq.hpp"
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

void train_steps(benchmark::State& state, const CompileOptions& options) {
  const Config& c = kConfigs[state.range(0)];
  Seq2Seq model(model_config(c));
  model.set_compile_options(options);
  model.init_parameters(1);
  auto adam = optim::make_optimizer({}, model.params());
  text::Batch batch = synthetic_batch(c);
  model.train_step_gradients(batch);  // compile and warm up outside the timing
  for (auto _ : state) {
    model.train_step_gradients(batch);
    optim::clip_and_step(*adam, model.params(), 1.0, 1e-3);
  }
  state.SetLabel(c.name);
  state.counters["tok/s"] = benchmark::Counter(double(c.B * c.S), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_TrainStep(benchmark::State& state) { train_steps(state, {}); }
// What `loom train --deterministic` costs: matrix products in fixed blocks.
void BM_TrainStepDeterministic(benchmark::State& state) { train_steps(state, {.deterministic = true}); }

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
BENCHMARK(BM_TrainStepDeterministic)->DenseRange(1, 2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GreedyDecode20)->DenseRange(0, 1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace loom::models

BENCHMARK_MAIN();
