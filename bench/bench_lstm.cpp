// LSTM sequence forward + backward through a compiled Loom plan, at the four
// benchmark configurations (docs/PERFORMANCE.md). The graph is lstm_sequence, a sum loss over its
// output, and grad with respect to x and the four parameters; one iteration
// is one Executor::run(). Counters: tokens/s (B·S per run) and the GEMM rate
// (forward 2·B·S·4H·(E+H) flops; backward twice that).
// Threads follow OMP_NUM_THREADS.
#include <benchmark/benchmark.h>

#include <random>

#include "autograd/grad.hpp"
#include "graph/executor.hpp"
#include "ops/ops.hpp"

namespace loom {
namespace {

struct Config {
  int64_t B, S, E, H;
};
constexpr Config kConfigs[] = {{16, 8, 32, 64}, {32, 16, 128, 256}, {64, 32, 256, 512}, {32, 100, 128, 256}};

Tensor uniform(Shape shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Tensor t(DType::F32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

void BM_LstmSequenceTrainStep(benchmark::State& state) {
  const Config c = kConfigs[state.range(0)];
  const DType f = DType::F32;
  Graph g;
  Var x = input(g, "x", {f, {c.B, c.S, c.E}});
  Var lengths = input(g, "lengths", {DType::I32, {c.B}});
  Var h0 = input(g, "h0", {f, {c.B, c.H}});
  Var c0 = input(g, "c0", {f, {c.B, c.H}});
  Var w_ih = parameter(g, "w_ih", {f, {4 * c.H, c.E}});
  Var w_hh = parameter(g, "w_hh", {f, {4 * c.H, c.H}});
  Var b_ih = parameter(g, "b_ih", {f, {4 * c.H}});
  Var b_hh = parameter(g, "b_hh", {f, {4 * c.H}});
  auto r = ops::lstm_sequence(x, lengths, {h0, c0}, w_ih, w_hh, b_ih, b_hh);
  Var loss = ops::sum(r.output) + ops::sum(r.h);
  std::vector<Value> fetch{loss.value};
  for (Var d : grad(loss, {x, w_ih, w_hh, b_ih, b_hh})) fetch.push_back(d.value);

  ParameterStore params(f);
  params.declare_all(g);
  std::mt19937_64 rng(3);
  params.fill_uniform(rng, 1.0 / std::sqrt(double(c.H)));
  Executor exec(compile(g, fetch), params);
  exec.set_input("x", uniform({c.B, c.S, c.E}, 1));
  exec.set_input("lengths", Tensor::from_i32({c.B}, std::vector<int32_t>(size_t(c.B), int32_t(c.S))));
  exec.set_input("h0", Tensor(f, {c.B, c.H}));
  exec.set_input("c0", Tensor(f, {c.B, c.H}));
  exec.run();  // warm: oneDNN kernels jitted, pages touched

  for (auto _ : state) {
    exec.run();
    benchmark::DoNotOptimize(exec.output(0).data);
  }
  double tokens = double(c.B * c.S);
  double flops = 3.0 * 2.0 * tokens * 4.0 * double(c.H) * double(c.E + c.H);
  state.counters["tokens/s"] = benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GF/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(state.range(0) == 0   ? "tiny"
                             : state.range(0) == 1 ? "small"
                             : state.range(0) == 2 ? "medium"
                                                   : "long"));
}
BENCHMARK(BM_LstmSequenceTrainStep)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace loom

BENCHMARK_MAIN();
