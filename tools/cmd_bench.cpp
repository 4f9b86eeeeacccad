// `loom bench`: the translator's training step (forward, backward, global
// norm clipping, Adam) on a synthetic batch of one of docs/PERFORMANCE.md's
// configurations, timed over N steps after the plan is compiled and warm;
// --profile adds the per-step table of `loom train --profile`.
// bench/compare_pytorch.py puts the same step beside PyTorch's.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <vector>

#include "ops/dnnl/bf16.hpp"
#include "optim/optimizer.hpp"
#include "tools/commands.hpp"
#include "tools/option_checks.hpp"
#include "tools/profile_report.hpp"
#include "models/seq2seq/synthetic_batch.hpp"

namespace loom::cli {
namespace po = boost::program_options;

namespace {

struct BenchOptions {
  std::string config = "small";
  int threads = 0;
  int64_t steps = 20;
  bool profile = false;
  std::string trace_path;
  MatmulPrecision precision = MatmulPrecision::F32;
};

std::string config_list() {
  std::string text = "\n\nConfigurations (--config): B sentences of S tokens each side, embedding E, hidden H, "
                     "vocabularies V:\n";
  for (const models::seq2seq::BenchConfig& c : models::seq2seq::bench_configs()) {
    char line[120];
    std::snprintf(line, sizeof line, "  %-8s B=%-3lld S=%-4lld E=%-4lld H=%-4lld V=%lld\n", std::string(c.name).c_str(),
                  (long long)c.B, (long long)c.S, (long long)c.E, (long long)c.H, (long long)c.V);
    text += line;
  }
  return text;
}

// Milliseconds of each timed step; the profiler, when given, times their plan steps.
std::vector<double> time_steps(const models::seq2seq::BenchConfig& c, const BenchOptions& b, StepProfiler* profiler) {
  models::seq2seq::Seq2SeqConfig config = models::seq2seq::bench_model_config(c);
  config.matmul_precision = b.precision;
  models::seq2seq::Seq2Seq model(config);
  model.init_parameters(1);
  auto adam = optim::make_optimizer({}, model.params());
  const models::seq2seq::Batch batch = models::seq2seq::synthetic_batch(c);
  for (int warm = 0; warm < 2; ++warm) {  // compile, JIT, first touch
    model.train_step_gradients(batch);
    optim::clip_and_step(*adam, model.params(), 1.0, 1e-3);
  }
  model.set_profiler(profiler);
  std::vector<double> ms;
  using clock = std::chrono::steady_clock;
  for (int64_t i = 0; i < b.steps; ++i) {
    const auto start = clock::now();
    model.train_step_gradients(batch);
    const auto update = clock::now();
    optim::clip_and_step(*adam, model.params(), 1.0, 1e-3);
    const auto end = clock::now();
    if (profiler) {
      profiler->record_outside("optimizer: clip + adam", update, end);
      profiler->count_iteration();
    }
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  return ms;
}

void report(const models::seq2seq::BenchConfig& c, MatmulPrecision precision, std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  std::printf("config %s (B=%lld S=T=%lld E=%lld H=%lld V=%lld), %d thread(s), %zu steps%s\n",
              std::string(c.name).c_str(), (long long)c.B, (long long)c.S, (long long)c.E, (long long)c.H,
              (long long)c.V, omp_get_max_threads(), ms.size(),
              precision == MatmulPrecision::BF16 ? ", bf16 matrix products" : "");
  std::printf("ms per step: median %.3f  min %.3f  max %.3f\n", median, ms.front(), ms.back());
  std::printf("target tokens/s: %.0f (median step)\n", double(c.B * c.S) / (median / 1e3));
}

}  // namespace

int run_bench(const Args& args) {
  BenchOptions b;
  po::options_description opts("options");
  opts.add_options()("help,h", "print this help and exit")
      ("config", po::value(&b.config)->default_value(b.config), "tiny | small | medium | long")
      ("threads", po::value(&b.threads)->default_value(0)->notifier(in_range("threads", 0, kMaxThreads)),
       "OpenMP threads (0 = all cores)")
      ("steps", po::value(&b.steps)->default_value(b.steps)->notifier(in_range<int64_t>("steps", 1, 100000)),
       "timed steps, after two that compile and warm up")
      ("precision", po::value<std::string>()->default_value("f32")->notifier([&b](const std::string& v) {
         one_of("precision", {"f32", "bf16"})(v);
         b.precision = *parse_precision(v);
       }),
       "f32 | bf16: matrix products on bf16 operands with f32 accumulation (CPUs with AVX512-BF16 or AMX)")
      ("profile", po::bool_switch(&b.profile), "also time every plan step and print the table of `loom train --profile`")
      ("trace", po::value(&b.trace_path)->value_name("FILE.json"),
       "with --profile: also write the steps as Chrome trace-event JSON");
  const std::string text =
      "Times the translator's training step (forward, backward, clipping, Adam) on a\n"
      "synthetic batch of full-length sentences." + config_list();
  po::variables_map vm;
  if (!parse_command_line(args, "bench", text, opts, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_command_help(std::cout, "bench", text, opts);
    return kExitOk;
  }
  const models::seq2seq::BenchConfig* config = nullptr;
  try {
    config = &models::seq2seq::bench_config(b.config);
  } catch (const std::invalid_argument& e) {
    std::cerr << "loom bench: --config: " << e.what() << "\n";
    return kExitUsage;
  }
  if (!b.trace_path.empty() && !b.profile) {
    std::cerr << "loom bench: --trace needs --profile\n";
    return kExitUsage;
  }
  if (std::string why = b.precision == MatmulPrecision::BF16 ? bf16_unsupported_reason() : ""; !why.empty()) {
    std::cerr << "loom bench: --precision bf16: " << why << "\n";
    return kExitUsage;
  }
  if (b.threads > 0) omp_set_num_threads(b.threads);
  StepProfiler profiler;
  report(*config, b.precision, time_steps(*config, b, b.profile ? &profiler : nullptr));
  if (!b.profile) return kExitOk;
  std::cout << "\n";
  return report_profile(profiler, b.trace_path, "bench");
}

}  // namespace loom::cli
