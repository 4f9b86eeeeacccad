#include "train/memory_estimate.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>

#include <unistd.h>


namespace loom::train {
namespace {

// Bytes of the optimiser's state: its buffers, each the size of the
// parameters. An optimiser over an empty store says how many it keeps.
uint64_t optimizer_bytes(const optim::OptimizerConfig& config, uint64_t parameter_bytes) {
  ParameterStore empty;
  return uint64_t(optim::make_optimizer(config, empty)->state().size()) * parameter_bytes;
}

}  // namespace

MemoryEstimate estimate_parameter_memory(const std::vector<std::pair<std::string, Shape>>& parameter_shapes,
                                         DType dtype, const optim::OptimizerConfig& optimizer) {
  double parameters = 0;
  for (const auto& [name, shape] : parameter_shapes) parameters += double(shape.numel());
  const double element = dtype == DType::F64 ? 8.0 : 4.0;
  const double huge = double(std::numeric_limits<uint64_t>::max() / 8);
  MemoryEstimate e;
  e.parameters = uint64_t(std::min(parameters * element, huge));
  e.gradients = e.parameters;
  e.optimizer_state = optimizer_bytes(optimizer, e.parameters);
  return e;
}

PlanMemory plan_memory(const Plan& plan) {
  PlanMemory m;
  m.transient = plan.arena_bytes[size_t(Arena::Transient)];
  for (Arena a : {Arena::Input, Arena::Parameter, Arena::Constant}) m.own += plan.arena_bytes[size_t(a)];
  // lstm_sequence_grad's scratch holds dgates twice and h_prev: two of its
  // gates input (B,S,4H) and one of its output input (B,S,H).
  for (const Step& step : plan.steps)
    if (op_def(plan.program.graph.node(step.node).op).name == "lstm_sequence_grad")
      m.scratch = std::max<uint64_t>(m.scratch, 2 * plan.buffers[step.in[8]].bytes + plan.buffers[step.in[6]].bytes);
  return m;
}

namespace {

// One batch of each distinct shape key: the batches of `plans` in order.
void collect_shapes(const runtime::Model& model, const runtime::Dataset& data,
                    const std::vector<std::vector<int64_t>>& plans, int64_t& budget,
                    std::map<std::string, std::unique_ptr<runtime::Batch>>& shapes) {
  for (const auto& examples : plans) {
    if (budget == 0) return;
    if (budget > 0) --budget;
    std::unique_ptr<runtime::Batch> batch = data.make_batch(examples);
    std::string key = model.shape_key(*batch);
    shapes.try_emplace(std::move(key), std::move(batch));
  }
}

}  // namespace

void add_plan_memory(MemoryEstimate& e, const runtime::Model& model, const RunShapes& run) {
  std::map<std::string, std::unique_ptr<runtime::Batch>> training, validation;
  int64_t budget = run.max_steps > 0 ? run.max_steps : -1;
  for (int64_t epoch = 0; epoch < std::min(run.epochs, kShapeEpochs); ++epoch)
    collect_shapes(model, *run.train, run.train->epoch_plan(uint64_t(epoch)), budget, training);
  int64_t unlimited = -1;
  collect_shapes(model, *run.valid, run.valid->evaluation_plan(), unlimited, validation);
  auto add = [&e](const PlanMemory& m) {
    e.transient = std::max(e.transient, m.transient);
    e.scratch = std::max(e.scratch, m.scratch);
    e.plan_inputs += m.own;
    ++e.plans;
  };
  uint64_t largest_transient = 0;
  for (const auto& [key, batch] : training) {
    const PlanMemory m = plan_memory(model.training_plan(*batch));
    add(m);
    if (m.transient > largest_transient) largest_transient = m.transient, e.largest = key;
  }
  for (const auto& [key, batch] : validation) add(plan_memory(model.evaluation_plan(*batch)));
}

std::string MemoryEstimate::describe() const {
  return format_memory_size(total()) + " (process " + format_memory_size(process) + ", parameters " +
         format_memory_size(parameters) + ", gradients " + format_memory_size(gradients) + ", optimizer state " +
         format_memory_size(optimizer_state) + ", " + std::to_string(plans) + " plans: transient arena " +
         format_memory_size(transient) + " for the largest batch " + largest + ", step scratch " + format_memory_size(scratch) + ", their inputs " + format_memory_size(plan_inputs) + ")";
}

uint64_t resident_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * uint64_t(sysconf(_SC_PAGESIZE));
}

std::optional<uint64_t> available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  uint64_t kib = 0;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return std::nullopt;
}

void check_memory(const MemoryEstimate& estimate, uint64_t max_memory, std::optional<uint64_t> available) {
  const std::string advice = "; use a smaller --batch or a smaller model (its options: loom train --model NAME --help)";
  if (max_memory > 0 && estimate.total() > max_memory)
    throw InsufficientMemory("training would need about " + estimate.describe() + ", more than --max-memory " +
                             format_memory_size(max_memory) + advice);
  if (available && estimate.total() > *available)
    throw InsufficientMemory("training would need about " + estimate.describe() + ", more than the " +
                             format_memory_size(*available) + " available (MemAvailable in /proc/meminfo)" + advice);
}

uint64_t parse_memory_size(const std::string& text) {
  size_t used = 0;
  double number = 0;
  try {
    number = std::stod(text, &used);
  } catch (const std::logic_error&) {
    used = 0;
  }
  std::string suffix = text.substr(used);
  if (suffix.size() == 2 && std::toupper(static_cast<unsigned char>(suffix[1])) == 'B') suffix.pop_back();
  double scale = 0;
  if (suffix.empty()) scale = 1;
  else if (suffix.size() == 1) {
    switch (std::toupper(static_cast<unsigned char>(suffix[0]))) {
      case 'K': scale = 1024.0; break;
      case 'M': scale = 1024.0 * 1024; break;
      case 'G': scale = 1024.0 * 1024 * 1024; break;
      case 'T': scale = 1024.0 * 1024 * 1024 * 1024; break;
      default: break;
    }
  }
  const double bytes = number * scale;
  if (used == 0 || scale == 0 || !(bytes >= 1) || bytes > 1e18)
    throw std::invalid_argument("'" + text + "' is not a memory size such as 512M or 2G");
  return uint64_t(bytes);
}

std::string format_memory_size(uint64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double value = double(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) value /= 1024, ++unit;
  char buf[48];
  if (unit == 0) std::snprintf(buf, sizeof buf, "%llu B", (unsigned long long)bytes);
  else std::snprintf(buf, sizeof buf, "%.1f %s", value, units[unit]);
  return buf;
}

}  // namespace loom::train
