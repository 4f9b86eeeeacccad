// Fused against unfused elementwise chains: sigmoid(a)·tanh(b) + c over 1M
// f32 elements, compiled with fuse_elementwise on and off (every other pass
// and memory planning on in both). Unfused, each op streams its operands
// through memory; fused, one loop keeps the intermediates in 256-element
// blocks on the stack. Reports bytes processed (inputs read + output written).
// sigmoid and tanh cost arithmetic (vectorised polynomials, ops/vmath.hpp), so
// a second chain of cheap arithmetic, ((a·b + c)·a − b)·c, shows the memory
// traffic fusion saves.
#include <benchmark/benchmark.h>

#include "graph/executor.hpp"
#include "ops/ops.hpp"

using namespace loom;

namespace {

enum Chain { kTranscendental, kArithmetic };

void run_chain(benchmark::State& state, Chain chain, bool fuse, int64_t n) {
  Graph g;
  TensorType t{DType::F32, {n}};
  Var a = input(g, "a", t), b = input(g, "b", t), c = input(g, "c", t);
  Var y;
  if (chain == kTranscendental) {
    Var sa = ops::sigmoid(a);
    Var tb = ops::tanh(b);
    y = sa * tb + c;
  } else {
    y = ((a * b + c) * a - b) * c;
  }
  CompileOptions options;
  options.fuse_elementwise = fuse;
  ParameterStore no_params;
  Executor ex(compile(g, {y.value}, options), no_params);
  Tensor x(t);
  for (int64_t i = 0; i < n; ++i) x.set(i, double(i % 1000) / 500.0 - 1.0);
  for (const char* name : {"a", "b", "c"}) ex.set_input(name, x);
  for (auto _ : state) {
    ex.run();
    benchmark::DoNotOptimize(ex.output(0).data);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * n * int64_t(sizeof(float)) * 4);
  state.counters["steps"] = double(ex.plan().steps.size());
  state.counters["arena_MB"] = double(ex.plan().arena_bytes[size_t(Arena::Transient)]) / (1 << 20);
}

void BM_SigmoidTanhUnfused(benchmark::State& s) { run_chain(s, kTranscendental, false, s.range(0)); }
void BM_SigmoidTanhFused(benchmark::State& s) { run_chain(s, kTranscendental, true, s.range(0)); }
void BM_ArithmeticUnfused(benchmark::State& s) { run_chain(s, kArithmetic, false, s.range(0)); }
void BM_ArithmeticFused(benchmark::State& s) { run_chain(s, kArithmetic, true, s.range(0)); }

}  // namespace

BENCHMARK(BM_SigmoidTanhUnfused)->Arg(1 << 20)->Arg(1 << 14)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SigmoidTanhFused)->Arg(1 << 20)->Arg(1 << 14)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ArithmeticUnfused)->Arg(1 << 20)->Arg(1 << 14)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ArithmeticFused)->Arg(1 << 20)->Arg(1 << 14)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
