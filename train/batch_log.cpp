#include "train/batch_log.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace loom::models {

namespace {

// A (B, N) i32 tensor as B rows, or a (B) one as a flat list.
nlohmann::json ids(const Tensor& t) {
  const int32_t* p = t.data<int32_t>();
  if (t.shape().rank() == 1) return std::vector<int32_t>(p, p + t.shape()[0]);
  const int64_t rows = t.shape()[0], cols = t.shape()[1];
  nlohmann::json out = nlohmann::json::array();
  for (int64_t r = 0; r < rows; ++r) out.push_back(std::vector<int32_t>(p + r * cols, p + (r + 1) * cols));
  return out;
}

}  // namespace

BatchLog::BatchLog(const std::string& path, const Seq2SeqConfig& model) : path_(path), out_(path) {
  if (!out_) throw std::runtime_error(path + ": cannot create the batch log");
  nlohmann::json head = {{"src_vocab", model.src_vocab}, {"tgt_vocab", model.tgt_vocab},
                         {"embed", model.embed},         {"hidden", model.hidden},
                         {"layers", model.layers},       {"attention", model.attention}};
  out_ << head.dump() << '\n';
}

void BatchLog::write(const text::Batch& batch) {
  nlohmann::json row = {{"source", ids(batch.source)},
                        {"source_lengths", ids(batch.source_lengths)},
                        {"target_input", ids(batch.target_input)},
                        {"target_output", ids(batch.target_output)},
                        {"target_tokens", batch.target_tokens}};
  out_ << row.dump() << '\n';
  if (!out_) throw std::runtime_error(path_ + ": writing the batch log failed");
}

}  // namespace loom::models
