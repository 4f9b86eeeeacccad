// StepProfiler: wall time of every plan step, aggregated per step, for
// `loom train --profile` and benchmarks. An Executor times its steps only
// while a profiler is attached (Executor::set_profiler); without one, run()
// pays one pointer test per step. Several plans (one per batch shape) can
// share a profiler: each gets its own rows. Work outside the executor (the
// optimiser) is timed into named rows with record_outside().
#pragma once
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

namespace loom {

struct Plan;

class StepProfiler {
 public:
  using clock = std::chrono::steady_clock;

  struct Row {
    std::string label;      // op name, "fused: mul, add, tanh", or an outside label
    int32_t plan = -1;      // index of the plan in first-seen order; -1 outside any plan
    int32_t step = -1;      // step index in that plan
    double gemm_flops = 0;  // matrix-product FLOPs of one call, from the shapes
    int64_t calls = 0;
    double seconds = 0;
  };

  // Rows of plan's steps are rows()[first + i]; they are made on first sight.
  uint32_t rows_for(const Plan& plan);
  void record(uint32_t row, clock::time_point start, clock::time_point end);
  // Times work that is not a plan step into the row named label.
  void record_outside(const std::string& label, clock::time_point start, clock::time_point end);

  // Whole iterations (training steps) profiled; the table reports per iteration.
  void count_iteration() { ++iterations_; }
  int64_t iterations() const { return iterations_; }

  const std::vector<Row>& rows() const { return rows_; }
  size_t plans_seen() const { return first_row_.size(); }
  double total_seconds() const;
  double gemm_flops_total() const;  // over all calls recorded

  // The per-step table: rows by time, then GEMM vs the rest, FLOPs per
  // iteration and the achieved fraction of sgemm_gflops (0 = not measured),
  // then the time by op/group summed over plans and steps.
  std::string table(double sgemm_gflops, size_t max_rows = 30) const;
  // Chrome trace-event JSON (chrome://tracing, ui.perfetto.dev): one complete
  // event per recorded call.
  void write_trace(std::ostream& out) const;

 private:
  struct Event {
    uint32_t row;
    clock::time_point start, end;
  };
  uint32_t add_row(Row row);

  std::vector<Row> rows_;
  std::vector<Event> events_;
  std::map<const Plan*, uint32_t> first_row_;
  std::map<std::string, uint32_t> outside_rows_;
  int64_t iterations_ = 0;
};

}  // namespace loom
