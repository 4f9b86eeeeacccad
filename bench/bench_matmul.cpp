// oneDNN Gemm (ops/dnnl/gemm.hpp) against a naive single-threaded loop, at
// the GEMM shapes of the benchmark configurations in docs/PERFORMANCE.md:
//   out-proj   (B·T, 2H) x (2H, V)          decoder output projection
//   lstm-in    (B·T, E)  x (E, 4H)ᵀ-stored  input projection of all steps
//   lstm-rec   (B, H)    x (4H, H)ᵀ, C +=   one recurrent step (accumulates)
//   lstm-dW    (4H, B·T)ᵀ-stored x (B·T, E) weight gradient of all steps
//   attn       (B; T, H) x (B; S, H)ᵀ       batched attention scores
// Counters report GFLOP/s (2·B·M·N·K per run). oneDNN uses OMP_NUM_THREADS
// threads; the naive loop one. Rates use wall time (oneDNN's worker threads
// are invisible to CPU time). Naive runs are skipped above kNaiveMaxFlop.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "ops/dnnl/gemm.hpp"

namespace {

using loom::GemmShape;

struct Config {
  const char* name;
  int64_t b, t, e, h, v;  // B, S = T, E, H, Vs = Vt
};
const Config kConfigs[] = {
    {"tiny", 16, 8, 32, 64, 200},
    {"small", 32, 16, 128, 256, 2000},
    {"medium", 64, 32, 256, 512, 8000},
    {"long", 32, 100, 128, 256, 2000},
};

struct Problem {
  std::string name;
  GemmShape shape;
};

std::vector<Problem> problems_of(const Config& c) {
  std::string p = std::string(c.name) + "/";
  int64_t rows = c.b * c.t;
  return {
      {p + "out-proj", {.m = rows, .n = c.v, .k = 2 * c.h}},
      {p + "lstm-in", {.m = rows, .n = 4 * c.h, .k = c.e, .trans_b = true}},
      {p + "lstm-rec", {.m = c.b, .n = 4 * c.h, .k = c.h, .trans_b = true, .accumulate = true}},
      {p + "lstm-dW", {.m = 4 * c.h, .n = c.e, .k = rows, .trans_a = true, .accumulate = true}},
      {p + "attn", {.m = c.t, .n = c.t, .k = c.h, .trans_b = true, .batch = c.b}},
  };
}

double flop(const GemmShape& s) { return 2.0 * double(s.batch) * double(s.m) * double(s.n) * double(s.k); }
constexpr double kNaiveMaxFlop = 2.5e9;

struct Operands {
  std::vector<float> a, b, c;
  explicit Operands(const GemmShape& s) {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    a.resize(size_t(s.batch * s.m * s.k));
    b.resize(size_t(s.batch * s.k * s.n));
    c.assign(size_t(s.batch * s.m * s.n), 0.0f);
    for (float& x : a) x = u(rng);
    for (float& x : b) x = u(rng);
  }
};

// Dense operands only; loop order i, p, j so that the inner loop is unit-stride in C.
void naive_gemm(const GemmShape& s, const float* a, const float* b, float* c) {
  for (int64_t bi = 0; bi < s.batch; ++bi) {
    const float* ab = a + bi * s.m * s.k;
    const float* bb = b + bi * s.k * s.n;
    float* cb = c + bi * s.m * s.n;
    for (int64_t i = 0; i < s.m; ++i) {
      float* row = cb + i * s.n;
      if (!s.accumulate)
        for (int64_t j = 0; j < s.n; ++j) row[j] = 0.0f;
      for (int64_t p = 0; p < s.k; ++p) {
        float av = s.trans_a ? ab[p * s.m + i] : ab[i * s.k + p];
        for (int64_t j = 0; j < s.n; ++j) row[j] += av * (s.trans_b ? bb[j * s.k + p] : bb[p * s.n + j]);
      }
    }
  }
}

void set_counters(benchmark::State& state, const GemmShape& s) {
  state.counters["GFLOP/s"] = benchmark::Counter(flop(s) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["M"] = double(s.m);
  state.counters["N"] = double(s.n);
  state.counters["K"] = double(s.k);
  state.counters["batch"] = double(s.batch);
}

void bench_onednn(benchmark::State& state, GemmShape s) {
  auto ctx = loom::make_dnnl_context();
  loom::Gemm gemm(*ctx, s);
  Operands x(s);
  for (auto _ : state) {
    gemm.run(x.a.data(), x.b.data(), x.c.data());
    benchmark::DoNotOptimize(x.c.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(gemm.impl_name());
  set_counters(state, s);
}

void bench_naive(benchmark::State& state, GemmShape s) {
  Operands x(s);
  for (auto _ : state) {
    naive_gemm(s, x.a.data(), x.b.data(), x.c.data());
    benchmark::DoNotOptimize(x.c.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, s);
}

}  // namespace

int main(int argc, char** argv) {
  for (const Config& c : kConfigs)
    for (const Problem& p : problems_of(c)) {
      benchmark::RegisterBenchmark(("onednn/" + p.name).c_str(), bench_onednn, p.shape)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
      if (flop(p.shape) <= kNaiveMaxFlop)
        benchmark::RegisterBenchmark(("naive/" + p.name).c_str(), bench_naive, p.shape)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
