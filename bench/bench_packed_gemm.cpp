// PackedGemm (B packed once into oneDNN's format) against Gemm (row-major B,
// packed by oneDNN's gemm:jit on every call) at the products of one decoding
// step of the "small" configuration (E128 H256 V2000), M = 1 (greedy) and
// M = 5 (beam), plus larger M to place PackedGemm's row limit:
//   dec-in    (M, E) x (4H, E)ᵀ-stored    shape of the LSTM input product
//   dec-rec   (M, H) x (4H, H)ᵀ-stored    shape of the LSTM recurrent product
//   combine   (M, 3H) x (H, 3H)ᵀ-stored   widest attention-layer shape
//   out-proj  (M, H)  x (V, H)ᵀ-stored     logits
// The label carries oneDNN's implementation name. Counter: GB/s of B read.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "ops/dnnl/packed_gemm.hpp"

namespace {

using loom::GemmShape;

struct Problem {
  const char* name;
  int64_t n, k;
};
const Problem kProblems[] = {{"dec-in", 1024, 128}, {"dec-rec", 1024, 256}, {"combine", 256, 768},
                             {"out-proj", 2000, 256}, {"out-proj-wide", 2000, 512}};
const int64_t kRows[] = {1, 5, 16, 32, 64};

struct Operands {
  std::vector<float> a, b, c;
  explicit Operands(const GemmShape& s) {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    a.resize(size_t(s.m * s.k));
    b.resize(size_t(s.k * s.n));
    c.assign(size_t(s.m * s.n), 0.0f);
    for (float& x : a) x = u(rng);
    for (float& x : b) x = u(rng);
  }
};

void report(benchmark::State& state, const GemmShape& s, const std::string& impl) {
  state.SetLabel(impl);
  state.counters["B_GB/s"] = benchmark::Counter(double(s.k * s.n) * sizeof(float) * double(state.iterations()) / 1e9,
                                                benchmark::Counter::kIsRate);
}

void BM_Plain(benchmark::State& state, GemmShape s) {
  auto ctx = loom::make_dnnl_context();
  loom::Gemm g(*ctx, s);
  Operands o(s);
  for (auto _ : state) {
    g.run(o.a.data(), o.b.data(), o.c.data());
    benchmark::DoNotOptimize(o.c.data());
  }
  report(state, s, g.impl_name());
}

void BM_Packed(benchmark::State& state, GemmShape s) {
  auto ctx = loom::make_dnnl_context();
  loom::PackedGemm g(*ctx, s);
  Operands o(s);
  g.pack(o.b.data());
  for (auto _ : state) {
    g.run(o.a.data(), o.c.data());
    benchmark::DoNotOptimize(o.c.data());
  }
  report(state, s, g.impl_name());
}

const bool kRegistered = [] {
  for (const Problem& p : kProblems)
    for (int64_t m : kRows) {
      GemmShape s{.m = m, .n = p.n, .k = p.k, .trans_b = true};
      std::string suffix = std::string(p.name) + "/M" + std::to_string(m);
      benchmark::RegisterBenchmark(("BM_Plain/" + suffix).c_str(), BM_Plain, s)->UseRealTime();
      benchmark::RegisterBenchmark(("BM_Packed/" + suffix).c_str(), BM_Packed, s)->UseRealTime();
    }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
