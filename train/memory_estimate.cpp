#include "train/memory_estimate.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <unistd.h>

#include "text/batcher.hpp"

namespace loom::models {
namespace {

// Bytes of the optimiser's state: its buffers, each the size of the
// parameters. An optimiser over an empty store says how many it keeps.
uint64_t optimizer_bytes(const optim::OptimizerConfig& config, uint64_t parameter_bytes) {
  ParameterStore empty;
  return uint64_t(optim::make_optimizer(config, empty)->state().size()) * parameter_bytes;
}

// The padded (S, T) of a batch of these pairs, as text::Batcher pads them:
// the longest side plus <eos>/<bos>, rounded up to the length multiple.
BatchShape shape_of(const std::vector<int64_t>& pairs, const text::TokenizedCorpus& corpus, int64_t multiple) {
  size_t source = 0, target = 0;
  for (int64_t i : pairs) {
    source = std::max(source, corpus.sources[size_t(i)].size());
    target = std::max(target, corpus.targets[size_t(i)].size());
  }
  auto padded = [multiple](size_t tokens) { return (int64_t(tokens) + 1 + multiple - 1) / multiple * multiple; };
  return {int64_t(pairs.size()), padded(source), padded(target)};
}

// A batcher over pairs of the corpus's lengths: batching looks at lengths only.
text::Batcher length_batcher(const text::TokenizedCorpus& corpus, const text::BatcherOptions& options) {
  std::vector<text::EncodedPair> pairs(corpus.sources.size());
  for (size_t i = 0; i < pairs.size(); ++i)
    pairs[i] = {std::vector<int32_t>(corpus.sources[i].size(), 0), std::vector<int32_t>(corpus.targets[i].size(), 0)};
  return text::Batcher(std::move(pairs), options);
}

}  // namespace

MemoryEstimate estimate_parameter_memory(const Seq2SeqConfig& model, const optim::OptimizerConfig& optimizer) {
  double parameters = 0;
  for (const auto& [name, shape] : seq2seq_parameter_shapes(model)) parameters += double(shape.numel());
  const double element = model.dtype == DType::F64 ? 8.0 : 4.0;
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

std::vector<BatchShape> training_shapes(const TrainOptions& options, uint64_t seed,
                                        const text::TokenizedCorpus& corpus) {
  text::BatcherOptions bo{.batch_size = options.batch_size, .bucket_width = options.bucket_width, .seed = seed,
                          .length_multiple = options.length_multiple};
  const text::Batcher batcher = length_batcher(corpus, bo);
  std::set<BatchShape> shapes;
  int64_t steps = 0;
  for (int64_t epoch = 0; epoch < std::min(options.epochs, kShapeEpochs); ++epoch)
    for (const auto& batch : batcher.epoch_plan(uint64_t(epoch))) {
      if (options.max_steps > 0 && steps++ >= options.max_steps) return {shapes.begin(), shapes.end()};
      shapes.insert(shape_of(batch, corpus, bo.length_multiple));
    }
  return {shapes.begin(), shapes.end()};
}

std::vector<BatchShape> validation_shapes(const TrainOptions& options, const text::TokenizedCorpus& corpus) {
  text::BatcherOptions bo{.batch_size = kValidationBatch, .bucket_width = options.bucket_width, .shuffle = false,
                          .length_multiple = options.length_multiple};
  std::set<BatchShape> shapes;
  for (const auto& batch : length_batcher(corpus, bo).epoch_plan(0))
    shapes.insert(shape_of(batch, corpus, bo.length_multiple));
  return {shapes.begin(), shapes.end()};
}

void add_plan_memory(MemoryEstimate& e, const Seq2SeqConfig& model, const std::vector<BatchShape>& training,
                     const std::vector<BatchShape>& validation) {
  const Seq2Seq scratch(model);
  auto add = [&e](const PlanMemory& m) {
    e.transient = std::max(e.transient, m.transient);
    e.scratch = std::max(e.scratch, m.scratch);
    e.plan_inputs += m.own;
    ++e.plans;
  };
  uint64_t largest_transient = 0;
  for (const BatchShape& s : training) {
    const PlanMemory m = plan_memory(scratch.training_plan(s.batch, s.source_length, s.target_length));
    add(m);
    if (m.transient > largest_transient) largest_transient = m.transient, e.largest = s;
  }
  for (const BatchShape& s : validation)
    add(plan_memory(scratch.evaluation_plan(s.batch, s.source_length, s.target_length)));
}

std::string MemoryEstimate::describe() const {
  return format_memory_size(total()) + " (process " + format_memory_size(process) + ", parameters " +
         format_memory_size(parameters) + ", gradients " + format_memory_size(gradients) + ", optimizer state " +
         format_memory_size(optimizer_state) + ", " + std::to_string(plans) + " plans: transient arena " +
         format_memory_size(transient) + " for the largest B=" + std::to_string(largest.batch) +
         " S=" + std::to_string(largest.source_length) + " T=" + std::to_string(largest.target_length) +
         ", step scratch " + format_memory_size(scratch) + ", their inputs " + format_memory_size(plan_inputs) + ")";
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
  const std::string advice = "; use a smaller --batch, --hidden, --layers or vocabulary (--max-vocab)";
  if (max_memory > 0 && estimate.total() > max_memory)
    throw InsufficientMemory("training would need about " + estimate.describe() + ", more than --max-memory " +
                             format_memory_size(max_memory) + advice);
  if (available && estimate.total() > *available)
    throw InsufficientMemory("training would need about " + estimate.describe() + ", more than the " +
                             format_memory_size(*available) + " available (MemAvailable in /proc/meminfo)" + advice);
}

MemoryEstimate check_training_memory(const Seq2SeqConfig& model, const TrainOptions& options,
                                     const text::TokenizedCorpus& train, const text::TokenizedCorpus& valid) {
  MemoryEstimate estimate = estimate_parameter_memory(model, options.optimizer);
  estimate.process = resident_memory_bytes();
  const std::optional<uint64_t> available = available_memory_bytes();
  check_memory(estimate, options.max_memory, available);
  add_plan_memory(estimate, model, training_shapes(options, model.seed, train), validation_shapes(options, valid));
  check_memory(estimate, options.max_memory, available);
  return estimate;
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

}  // namespace loom::models
