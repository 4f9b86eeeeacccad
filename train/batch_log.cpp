#include "train/batch_log.hpp"

#include <nlohmann/json.hpp>
#include <charconv>
#include <stdexcept>

namespace loom::train {

namespace {

// "16" -> 16, "0.1" -> 0.1, "dot" -> "dot".
nlohmann::json config_value(const std::string& text) {
  int64_t integer = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), integer);
  if (ec == std::errc() && end == text.data() + text.size()) return integer;
  double real = 0;
  auto [end2, ec2] = std::from_chars(text.data(), text.data() + text.size(), real);
  if (ec2 == std::errc() && end2 == text.data() + text.size()) return real;
  return text;
}

}  // namespace

BatchLog::BatchLog(const std::string& path, const std::map<std::string, std::string>& model_config)
    : path_(path), out_(path) {
  if (!out_) throw std::runtime_error(path + ": cannot create the batch log");
  nlohmann::json head = nlohmann::json::object();
  for (const auto& [key, value] : model_config) head[key] = config_value(value);
  out_ << head.dump() << '\n';
}

void BatchLog::write(const runtime::Batch& batch) {
  const std::string row = batch.to_json();
  if (row.empty()) throw std::runtime_error(path_ + ": this model does not log its batches (--log-batches)");
  out_ << row << '\n';
  if (!out_) throw std::runtime_error(path_ + ": writing the batch log failed");
}

}  // namespace loom::train
