// How much memory a training run will need, worked out before anything is
// allocated, and the check against what the machine has (or --max-memory).
// Activations are an analytic upper bound of the compiled training plan's
// arenas (`loom explain --model seq2seq` prints the planner's own figure),
// so a run the check accepts may still be smaller, never larger per plan.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "models/seq2seq.hpp"
#include "optim/optimizer.hpp"
#include "text/corpus.hpp"
#include "train/trainer.hpp"

namespace loom::models {

struct MemoryEstimate {
  uint64_t parameters = 0, gradients = 0, optimizer_state = 0, activations = 0;  // bytes
  int64_t batch = 0, source_length = 0, target_length = 0;  // the largest batch shape assumed
  uint64_t total() const { return parameters + gradients + optimizer_state + activations; }
  // "1.2 GB (parameters 10.0 MB, gradients ..., activations for B=32 S=48 T=48 ...)"
  std::string describe() const;
};

// The estimate for a model, an optimiser and the largest (B, S, T) a batch
// can have. Allocates nothing of the model's size; throws
// std::invalid_argument for a bad config.
MemoryEstimate estimate_training_memory(const Seq2SeqConfig& model, const optim::OptimizerConfig& optimizer,
                                        int64_t batch, int64_t source_length, int64_t target_length);

// MemAvailable from /proc/meminfo; nullopt where it cannot be read.
std::optional<uint64_t> available_memory_bytes();

// The estimate exceeds the limit; the message gives both numbers.
struct InsufficientMemory : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws InsufficientMemory when the estimate exceeds max_memory (0: no
// limit) or the available memory (when known).
void check_memory(const MemoryEstimate& estimate, uint64_t max_memory, std::optional<uint64_t> available);

// The check before a run allocates its model: the largest batch has
// options.batch_size rows and the longest source and target of `corpora`
// (plus <eos>/<bos>, rounded up to options.length_multiple). Returns the
// estimate; throws InsufficientMemory against options.max_memory and
// MemAvailable.
MemoryEstimate check_training_memory(const Seq2SeqConfig& model, const TrainOptions& options,
                                     const std::vector<const text::TokenizedCorpus*>& corpora);

// "2G", "512M", "64K", "1000" (bytes); K, M, G, T are powers of 1024.
// Throws std::invalid_argument naming the text.
uint64_t parse_memory_size(const std::string& text);
// "1.5 GB", "12.0 MB", "900 B".
std::string format_memory_size(uint64_t bytes);

}  // namespace loom::models
