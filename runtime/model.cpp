// What every model's evaluation shares (model.hpp).
#include "runtime/model.hpp"

namespace loom::runtime {

Evaluation& Evaluation::operator+=(const Evaluation& o) {
  loss_sum += o.loss_sum;
  tokens += o.tokens;
  for (const auto& [name, count] : o.counts) counts[name] += count;
  return *this;
}

Evaluation evaluate_dataset(Model& model, const Dataset& data, size_t first, size_t stride) {
  Evaluation total;
  for (const std::string& name : model.evaluation_counts()) total.counts[name] = 0;
  const std::vector<std::vector<int64_t>> batches = data.evaluation_plan();
  for (size_t i = first; i < batches.size(); i += stride) total += model.evaluate_batch(*data.make_batch(batches[i]));
  return total;
}

}  // namespace loom::runtime
