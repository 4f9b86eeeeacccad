#include "train/memory_estimate.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

namespace loom::models {
namespace {

// Bytes of the optimiser's state: its buffers, each the size of the
// parameters. An optimiser over an empty store says how many it keeps.
uint64_t optimizer_bytes(const optim::OptimizerConfig& config, uint64_t parameter_bytes) {
  ParameterStore empty;
  return uint64_t(optim::make_optimizer(config, empty)->state().size()) * parameter_bytes;
}

// Elements of one training step's values, as an upper bound of what the
// planner lays out: embeddings, every LSTM layer's gates and states at every
// position, attention over B·T·S (with an H-wide term for kinds such as
// additive), the output features and logits with their softmax; then twice
// that again for the backward pass's gradients and the planner's slack.
double activation_elements(const Seq2SeqConfig& c, double B, double S, double T) {
  const double E = double(c.embed), H = double(c.hidden), L = double(c.layers), V = double(c.tgt_vocab);
  const double lstm = B * (S + T) * (E + 8 * H * L);
  const double attention = B * T * S * (2 + H) + B * T * 3 * H;
  const double output = 3 * B * T * V;
  return 3 * (lstm + attention + output);
}

}  // namespace

MemoryEstimate estimate_training_memory(const Seq2SeqConfig& model, const optim::OptimizerConfig& optimizer,
                                        int64_t batch, int64_t source_length, int64_t target_length) {
  double parameters = 0;
  for (const auto& [name, shape] : seq2seq_parameter_shapes(model)) parameters += double(shape.numel());
  const double element = model.dtype == DType::F64 ? 8.0 : 4.0;
  const double huge = double(std::numeric_limits<uint64_t>::max() / 8);
  auto bytes = [&](double elements) { return uint64_t(std::min(elements * element, huge)); };
  MemoryEstimate e;
  e.parameters = bytes(parameters);
  e.gradients = e.parameters;
  e.optimizer_state = optimizer_bytes(optimizer, e.parameters);
  e.activations = bytes(activation_elements(model, double(batch), double(source_length), double(target_length)));
  e.batch = batch;
  e.source_length = source_length;
  e.target_length = target_length;
  return e;
}

std::string MemoryEstimate::describe() const {
  return format_memory_size(total()) + " (parameters " + format_memory_size(parameters) + ", gradients " +
         format_memory_size(gradients) + ", optimizer state " + format_memory_size(optimizer_state) +
         ", activations of the largest batch B=" + std::to_string(batch) + " S=" + std::to_string(source_length) +
         " T=" + std::to_string(target_length) + " at most " + format_memory_size(activations) + ")";
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
                                     const std::vector<const text::TokenizedCorpus*>& corpora) {
  size_t longest_source = 0, longest_target = 0;
  for (const text::TokenizedCorpus* corpus : corpora) {
    for (const auto& s : corpus->sources) longest_source = std::max(longest_source, s.size());
    for (const auto& t : corpus->targets) longest_target = std::max(longest_target, t.size());
  }
  const int64_t m = std::max<int64_t>(options.length_multiple, 1);
  auto padded = [m](size_t tokens) { return (int64_t(tokens) + 1 + m - 1) / m * m; };
  MemoryEstimate estimate = estimate_training_memory(model, options.optimizer, options.batch_size,
                                                     padded(longest_source), padded(longest_target));
  check_memory(estimate, options.max_memory, available_memory_bytes());
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
