// The step profiler: one row per plan step with a call per run, shares that
// add up, GEMM FLOPs from the shapes, rows outside the plan, and a Chrome
// trace that parses with one event per call.
#include <nlohmann/json.hpp>
#include <sstream>

#include "graph/executor.hpp"
#include "graph/profiler.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

struct ProfiledRuns {
  std::unique_ptr<Executor> exec;
  ParameterStore params;
  StepProfiler profiler;
};

// y = tanh(a·b) + a·b: a matmul (64,32)·(32,48) and elementwise steps.
void build_and_run(ProfiledRuns& p, int runs) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {64, 32}});
  Var b = input(g, "b", {DType::F32, {32, 48}});
  Var ab = ops::matmul(a, b);
  Var y = ops::tanh(ab) + ab * 0.5;
  p.exec = std::make_unique<Executor>(compile(g, {y.value}), p.params);
  p.exec->set_input("a", test::random_tensor(DType::F32, {64, 32}, 1));
  p.exec->set_input("b", test::random_tensor(DType::F32, {32, 48}, 2));
  p.exec->run();  // not profiled
  p.exec->set_profiler(&p.profiler);
  for (int i = 0; i < runs; ++i) p.exec->run();
  p.exec->set_profiler(nullptr);
  p.exec->run();  // not profiled either
}

TEST(Profiler, OneRowPerStepAndOneCallPerRun) {
  ProfiledRuns p;
  build_and_run(p, 3);
  const size_t steps = p.exec->plan().steps.size();
  ASSERT_GE(steps, 2u);
  ASSERT_EQ(p.profiler.rows().size(), steps);
  EXPECT_EQ(p.profiler.plans_seen(), 1u);
  for (size_t i = 0; i < steps; ++i) {
    EXPECT_EQ(p.profiler.rows()[i].calls, 3) << p.profiler.rows()[i].label;
    EXPECT_EQ(p.profiler.rows()[i].step, int32_t(i));
  }
}

TEST(Profiler, MatmulRowCarriesItsFlops) {
  ProfiledRuns p;
  build_and_run(p, 2);
  int matmuls = 0;
  for (const StepProfiler::Row& r : p.profiler.rows()) {
    if (r.label == "matmul") {
      ++matmuls;
      EXPECT_DOUBLE_EQ(r.gemm_flops, 2.0 * 64 * 48 * 32);
    } else {
      EXPECT_EQ(r.gemm_flops, 0.0) << r.label;
    }
  }
  EXPECT_EQ(matmuls, 1);
  EXPECT_DOUBLE_EQ(p.profiler.gemm_flops_total(), 2 * 2.0 * 64 * 48 * 32);
}

TEST(Profiler, SharesSumToTheWhole) {
  ProfiledRuns p;
  build_and_run(p, 4);
  const auto start = StepProfiler::clock::now();
  p.profiler.record_outside("optimizer", start, start + std::chrono::microseconds(50));
  p.profiler.record_outside("optimizer", start, start + std::chrono::microseconds(30));
  ASSERT_EQ(p.profiler.rows().back().label, "optimizer");
  EXPECT_EQ(p.profiler.rows().back().calls, 2);
  EXPECT_NEAR(p.profiler.rows().back().seconds, 80e-6, 1e-9);
  double sum = 0;
  for (const StepProfiler::Row& r : p.profiler.rows()) sum += r.seconds / p.profiler.total_seconds();
  EXPECT_NEAR(sum, 1.0, 1e-9);
  for (int i = 0; i < 4; ++i) p.profiler.count_iteration();
  std::string table = p.profiler.table(100.0);
  EXPECT_NE(table.find("matmul"), std::string::npos) << table;
  EXPECT_NE(table.find("optimizer"), std::string::npos) << table;
  EXPECT_NE(table.find("100.0%"), std::string::npos) << table;
  EXPECT_NE(table.find("iterations profiled: 4"), std::string::npos) << table;
  // The op/group summary merges rows by label: the optimiser's two calls stay one row.
  size_t summary = table.find("by op/group");
  ASSERT_NE(summary, std::string::npos) << table;
  EXPECT_NE(table.find("optimizer", summary), std::string::npos) << table;
  EXPECT_NE(table.find("sgemm measured now: 100.0 GF/s"), std::string::npos) << table;
}

TEST(Profiler, TraceParsesWithOneEventPerCall) {
  ProfiledRuns p;
  build_and_run(p, 3);
  std::ostringstream out;
  p.profiler.write_trace(out);
  nlohmann::json trace = nlohmann::json::parse(out.str());
  const nlohmann::json& events = trace.at("traceEvents");
  const size_t steps = p.exec->plan().steps.size();
  ASSERT_EQ(events.size(), 3 * steps);
  double last_start = -1;
  for (size_t i = 0; i < events.size(); ++i) {
    const nlohmann::json& e = events[i];
    EXPECT_EQ(e.at("ph"), "X");
    EXPECT_EQ(e.at("name"), p.profiler.rows()[i % steps].label);
    EXPECT_EQ(e.at("args").at("step"), int(i % steps));
    EXPECT_GE(e.at("dur").get<double>(), 0.0);
    EXPECT_GE(e.at("ts").get<double>(), last_start);  // in run order
    last_start = e.at("ts").get<double>();
  }
  EXPECT_EQ(events[0].at("ts").get<double>(), 0.0);
}

TEST(Profiler, SeveralPlansGetSeparateRows) {
  ProfiledRuns p, q;
  build_and_run(p, 1);
  Graph g;
  Var a = input(g, "a", {DType::F32, {8, 8}});
  Executor other(compile(g, {ops::exp(a).value}), q.params);
  other.set_input("a", test::random_tensor(DType::F32, {8, 8}, 3));
  other.set_profiler(&p.profiler);
  other.run();
  EXPECT_EQ(p.profiler.plans_seen(), 2u);
  EXPECT_EQ(p.profiler.rows().size(), p.exec->plan().steps.size() + other.plan().steps.size());
  EXPECT_EQ(p.profiler.rows().back().plan, 1);
}

}  // namespace
}  // namespace loom
