// Global-norm clipping plus an optimiser update over a flat f32 store the
// size of the small translator (2.9 M parameters: embeddings, two LSTMs, the
// output layer), unfused (clip_grad_norm, then step: four passes over the
// gradients) against clip_and_step (two). The clip always bites (max_norm
// below the norm), as in early training. Threads follow OMP_NUM_THREADS.
#include <benchmark/benchmark.h>

#include <cmath>

#include "optim/optimizer.hpp"

using namespace loom;

namespace {

ParameterStore small_translator_store() {
  ParameterStore p(DType::F32);
  const int64_t V = 2000, E = 128, H = 256;
  p.declare("src_embed", {V, E});
  p.declare("tgt_embed", {V, E});
  p.declare("encoder_w_ih", {4 * H, E});
  p.declare("encoder_w_hh", {4 * H, H});
  p.declare("decoder_w_ih", {4 * H, E});
  p.declare("decoder_w_hh", {4 * H, H});
  p.declare("out_weight", {V, 2 * H});
  p.declare("out_bias", {V});
  float* g = static_cast<float*>(p.grads_data());
  for (int64_t i = 0; i < p.numel(); ++i) g[i] = float(std::sin(0.001 * double(i)));
  return p;
}

void BM_ClipThenStep(benchmark::State& state, const char* kind) {
  ParameterStore p = small_translator_store();
  optim::OptimizerConfig cfg;
  cfg.kind = kind;
  auto opt = optim::make_optimizer(cfg, p);
  for (auto _ : state) {
    optim::clip_grad_norm(p, 1.0);
    opt->step(p, 1e-3);
    state.PauseTiming();  // restore the unclipped gradients, as a new backward pass would
    float* g = static_cast<float*>(p.grads_data());
    for (int64_t i = 0; i < p.numel(); ++i) g[i] = float(std::sin(0.001 * double(i)));
    state.ResumeTiming();
  }
  state.SetLabel(std::to_string(p.numel()) + " parameters");
}

void BM_ClipAndStep(benchmark::State& state, const char* kind) {
  ParameterStore p = small_translator_store();
  optim::OptimizerConfig cfg;
  cfg.kind = kind;
  auto opt = optim::make_optimizer(cfg, p);
  for (auto _ : state) optim::clip_and_step(*opt, p, 1.0, 1e-3);
  state.SetLabel(std::to_string(p.numel()) + " parameters");
}

BENCHMARK_CAPTURE(BM_ClipThenStep, adam, "adam")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_ClipAndStep, adam, "adam")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_ClipThenStep, sgd, "sgd")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_ClipAndStep, sgd, "sgd")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
