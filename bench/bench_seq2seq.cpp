// One training step of the attention translator (forward, backward, global
// norm clipping, Adam) at the four configurations of docs/PERFORMANCE.md
// (train/synthetic_batch.hpp), on a synthetic batch of full-length
// sentences; the same with bf16 matrix products (`loom train --precision
// bf16`), and small and medium with deterministic plans (`loom train
// --deterministic`); plus greedy decoding latency of one 20-token sentence.
// Counters: target tokens/s. Threads follow OMP_NUM_THREADS. The PyTorch side
// of the comparison is bench/compare_pytorch.py (the twin in
// tests/python/loom_torch.py), which runs both interleaved; docs/PERFORMANCE.md
// has the figures.
#include <benchmark/benchmark.h>

#include <string>

#include "models/seq2seq/decode.hpp"
#include "ops/dnnl/bf16.hpp"
#include "optim/optimizer.hpp"
#include "models/seq2seq/synthetic_batch.hpp"

namespace loom::models {
namespace {

const models::seq2seq::BenchConfig& config_of(const benchmark::State& state) { return models::seq2seq::bench_configs()[size_t(state.range(0))]; }

void train_steps(benchmark::State& state, const CompileOptions& options, MatmulPrecision precision) {
  const models::seq2seq::BenchConfig& c = config_of(state);
  models::seq2seq::Seq2SeqConfig config = bench_model_config(c);
  config.matmul_precision = precision;
  models::seq2seq::Seq2Seq model(config);
  model.set_compile_options(options);
  model.init_parameters(1);
  auto adam = optim::make_optimizer({}, model.params());
  models::seq2seq::Batch batch = models::seq2seq::synthetic_batch(c);
  model.train_step_gradients(batch);  // compile and warm up outside the timing
  for (auto _ : state) {
    model.train_step_gradients(batch);
    optim::clip_and_step(*adam, model.params(), 1.0, 1e-3);
  }
  state.SetLabel(std::string(c.name) + (precision == MatmulPrecision::BF16 ? " bf16" : ""));
  state.counters["tok/s"] = benchmark::Counter(double(c.B * c.S), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_TrainStep(benchmark::State& state) { train_steps(state, {}, MatmulPrecision::F32); }

// Reports an error where the CPU lacks bf16.
void BM_TrainStepBf16(benchmark::State& state) {
  if (std::string why = bf16_unsupported_reason(); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  train_steps(state, {}, MatmulPrecision::BF16);
}

// What `loom train --deterministic` costs: matrix products in fixed blocks.
void BM_TrainStepDeterministic(benchmark::State& state) {
  train_steps(state, {.deterministic = true}, MatmulPrecision::F32);
}

void BM_GreedyDecode20(benchmark::State& state) {
  const models::seq2seq::BenchConfig& c = config_of(state);
  models::seq2seq::Seq2Seq model(bench_model_config(c));
  model.init_parameters(1);
  models::seq2seq::Decoder decoder(model);
  std::vector<int32_t> source(20);
  for (int32_t i = 0; i < 20; ++i) source[size_t(i)] = 4 + i;
  decoder.greedy(source, 20);
  for (auto _ : state) benchmark::DoNotOptimize(decoder.greedy(source, 20));
  state.SetLabel(std::string(c.name));
}

BENCHMARK(BM_TrainStep)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainStepBf16)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainStepDeterministic)->DenseRange(1, 2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GreedyDecode20)->DenseRange(0, 1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace loom::models

BENCHMARK_MAIN();
