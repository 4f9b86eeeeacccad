#include "graph/profiler.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

#include "graph/op_def.hpp"
#include "graph/plan.hpp"

namespace loom {
namespace {

double seconds_between(StepProfiler::clock::time_point a, StepProfiler::clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string step_label(const Plan& plan, const Step& s) {
  const Node& n = plan.program.graph.node(s.node);
  std::string members = fused_members(n);
  return members.empty() ? op_def(n.op).name : "fused: " + members;
}

double step_gemm_flops(const Plan& plan, const Step& s) {
  const Node& n = plan.program.graph.node(s.node);
  const OpDef& def = op_def(n.op);
  if (!def.gemm_flops) return 0;
  std::vector<TensorType> in;
  for (uint32_t b : s.in) in.push_back(plan.buffers[b].type);
  return def.gemm_flops(in, n.attrs);
}

std::string row_step(const StepProfiler::Row& r, bool several_plans) {
  if (r.step < 0) return "-";
  return several_plans ? std::to_string(r.plan) + ":" + std::to_string(r.step) : std::to_string(r.step);
}

std::string format_line(const char* fmt, auto... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

std::string gflops_cell(double flops, double seconds) {
  return flops > 0 && seconds > 0 ? format_line("%8.1f", flops / seconds * 1e-9) : "       -";
}

// One printed row: a plan step, or several merged.
struct Line {
  std::string step;  // "12", "2:12", or how many steps were merged
  std::string label;
  int64_t calls = 0;
  double seconds = 0, gemm_flops = 0;  // flops over all calls
};

// Lines by time, the first max_rows printed, the rest folded into one.
std::string lines_section(std::vector<Line> lines, const char* step_title, size_t max_rows, double per,
                          double total) {
  std::stable_sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) { return a.seconds > b.seconds; });
  auto share = [&](double s) { return total > 0 ? 100.0 * s / total : 0.0; };
  std::string t = format_line("%-8s %-44s %7s %10s %7s %8s\n", step_title, "op/group", "calls", "ms/step", "share",
                              "GF/s");
  const size_t hidden = lines.size() > max_rows ? lines.size() - max_rows : 0;
  Line rest{"...", std::to_string(hidden) + (hidden == 1 ? " more row" : " more rows")};
  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    if (i >= max_rows) {
      rest.seconds += l.seconds;
      rest.calls += l.calls;
      continue;
    }
    t += format_line("%-8s %-44.44s %7lld %10.3f %6.1f%% %s\n", l.step.c_str(), l.label.c_str(), (long long)l.calls,
                     1e3 * l.seconds * per, share(l.seconds), gflops_cell(l.gemm_flops, l.seconds).c_str());
  }
  if (rest.calls)
    t += format_line("%-8s %-44s %7lld %10.3f %6.1f%%\n", rest.step.c_str(), rest.label.c_str(),
                     (long long)rest.calls, 1e3 * rest.seconds * per, share(rest.seconds));
  return t;
}

// Rows with the same label merged: where the time goes by op, whatever the plan.
std::vector<Line> by_label(const std::vector<StepProfiler::Row>& rows) {
  std::map<std::string, Line> merged;
  std::map<std::string, int> steps;
  for (const StepProfiler::Row& r : rows) {
    if (!r.calls) continue;
    Line& l = merged[r.label];
    l.label = r.label;
    l.calls += r.calls;
    l.seconds += r.seconds;
    l.gemm_flops += r.gemm_flops * double(r.calls);
    l.step = std::to_string(++steps[r.label]);
  }
  std::vector<Line> out;
  for (auto& [label, line] : merged) out.push_back(std::move(line));
  return out;
}

}  // namespace

uint32_t StepProfiler::add_row(Row row) {
  rows_.push_back(std::move(row));
  return uint32_t(rows_.size() - 1);
}

uint32_t StepProfiler::rows_for(const Plan& plan) {
  auto it = first_row_.find(&plan);
  if (it != first_row_.end()) return it->second;
  const uint32_t first = uint32_t(rows_.size());
  const int32_t index = int32_t(first_row_.size());
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step& s = plan.steps[i];
    add_row({step_label(plan, s), index, int32_t(i), step_gemm_flops(plan, s), 0, 0.0});
  }
  first_row_.emplace(&plan, first);
  return first;
}

void StepProfiler::record(uint32_t row, clock::time_point start, clock::time_point end) {
  rows_[row].calls += 1;
  rows_[row].seconds += seconds_between(start, end);
  events_.push_back({row, start, end});
}

void StepProfiler::record_outside(const std::string& label, clock::time_point start, clock::time_point end) {
  auto it = outside_rows_.find(label);
  if (it == outside_rows_.end()) it = outside_rows_.emplace(label, add_row({label, -1, -1, 0.0, 0, 0.0})).first;
  record(it->second, start, end);
}

double StepProfiler::total_seconds() const {
  double t = 0;
  for (const Row& r : rows_) t += r.seconds;
  return t;
}

double StepProfiler::gemm_flops_total() const {
  double f = 0;
  for (const Row& r : rows_) f += r.gemm_flops * double(r.calls);
  return f;
}

std::string StepProfiler::table(double sgemm_gflops, size_t max_rows) const {
  const double total = total_seconds(), per = iterations_ > 0 ? 1.0 / double(iterations_) : 0.0;
  const bool several = plans_seen() > 1;
  std::vector<Line> steps;
  for (const Row& r : rows_)
    if (r.calls) steps.push_back({row_step(r, several), r.label, r.calls, r.seconds, r.gemm_flops * double(r.calls)});
  std::string t = lines_section(std::move(steps), "step", max_rows, per, total);

  double gemm_seconds = 0;
  for (const Row& r : rows_)
    if (r.gemm_flops > 0) gemm_seconds += r.seconds;
  const double flops = gemm_flops_total();
  auto share = [&](double s) { return total > 0 ? 100.0 * s / total : 0.0; };
  t += "\n";
  t += format_line("%-53s %10.3f %6.1f%% %s\n", "steps with matrix products (GEMM)", 1e3 * gemm_seconds * per,
                   share(gemm_seconds), gflops_cell(flops, gemm_seconds).c_str());
  t += format_line("%-53s %10.3f %6.1f%%\n", "everything else", 1e3 * (total - gemm_seconds) * per,
                   share(total - gemm_seconds));
  t += format_line("%-53s %10.3f %6.1f%%\n", "total", 1e3 * total * per, 100.0);
  t += format_line("iterations profiled: %lld\n", (long long)iterations_);
  t += format_line("GEMM FLOPs per step: %.3g (%.2f GF)\n", flops * per, flops * per * 1e-9);
  if (sgemm_gflops > 0 && gemm_seconds > 0)
    t += format_line("sgemm measured now: %.1f GF/s; GEMM steps reach %.0f%% of it\n", sgemm_gflops,
                     100.0 * flops / gemm_seconds * 1e-9 / sgemm_gflops);
  t += "\nby op/group, over all plans and steps:\n";
  t += lines_section(by_label(rows_), "steps", max_rows / 2, per, total);
  return t;
}

void StepProfiler::write_trace(std::ostream& out) const {
  nlohmann::json events = nlohmann::json::array();
  const clock::time_point origin = events_.empty() ? clock::time_point{} : events_.front().start;
  for (const Event& e : events_) {
    const Row& r = rows_[e.row];
    nlohmann::json args = {{"plan", r.plan}, {"step", r.step}};
    if (r.gemm_flops > 0) args["gemm_flops"] = r.gemm_flops;
    events.push_back({{"name", r.label},
                      {"cat", r.step < 0 ? "outside" : r.gemm_flops > 0 ? "gemm" : "op"},
                      {"ph", "X"},
                      {"ts", 1e6 * seconds_between(origin, e.start)},
                      {"dur", 1e6 * seconds_between(e.start, e.end)},
                      {"pid", 1},
                      {"tid", 1},
                      {"args", std::move(args)}});
  }
  out << nlohmann::json{{"traceEvents", std::move(events)}, {"displayTimeUnit", "ms"}}.dump() << "\n";
}

}  // namespace loom
