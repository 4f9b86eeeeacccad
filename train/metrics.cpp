// The CSV training log (see metrics.hpp).
#include "train/metrics.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <unistd.h>

namespace loom::train {

// ---- MetricsLog ----

namespace {

// Locale-independent shortest round-trip text; NaN (not measured) -> "".
void append_number(std::string& out, double value) {
  if (std::isnan(value)) return;
  if (std::isinf(value)) {
    out += value > 0 ? "inf" : "-inf";
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general, 7);
  out.append(buf, end);
}

// Complete lines only: a last line without its newline (a crash mid-write) is dropped.
std::vector<std::string> read_complete_lines(const std::string& path, bool& dropped_partial) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw MetricsError("metrics log '" + path + "': cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  std::string content = text.str();
  dropped_partial = !content.empty() && content.back() != '\n';
  std::vector<std::string> lines;
  std::istringstream stream(content);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  if (dropped_partial) lines.pop_back();
  return lines;
}

// Step column of a data row, or -1 when it cannot be parsed.
int64_t row_step(const std::string& line) {
  size_t comma = line.find(',');
  if (comma == std::string::npos) return -1;
  int64_t step = -1;
  const char* begin = line.data() + comma + 1;
  std::from_chars(begin, line.data() + line.size(), step);
  return step;
}

// Rewrites the file through a temporary so a crash leaves the old log whole.
void rewrite_log(const std::string& path, const std::vector<std::string>& lines) {
  std::string temp = path + ".tmp." + std::to_string(::getpid());  // two runs never share one
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    for (const std::string& line : lines) out << line << '\n';
    out.flush();
    if (!out) throw MetricsError("metrics log '" + path + "': cannot write " + temp);
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) throw MetricsError("metrics log '" + path + "': cannot replace it: " + ec.message());
}

}  // namespace

std::string MetricsLog::header(const std::vector<std::string>& model_columns) {
  std::string text = "epoch,step,train_loss,valid_loss,valid_ppl";
  for (const std::string& column : model_columns) text += "," + column;
  return text + ",lr,tokens_per_s,elapsed_s";
}

MetricsLog::MetricsLog(std::string path, std::optional<int64_t> keep_through_step,
                       std::vector<std::string> model_columns)
    : path_(std::move(path)), header_(header(model_columns)), model_columns_(model_columns.size()) {
  std::error_code ec;
  bool has_content = std::filesystem::exists(path_, ec) && std::filesystem::file_size(path_, ec) > 0 && !ec;
  if (has_content) {
    bool dropped_partial = false;
    std::vector<std::string> lines = read_complete_lines(path_, dropped_partial);
    if (lines.empty() || lines[0] != header_)
      throw MetricsError("metrics log '" + path_ + "': first line is not the expected header '" + header_ +
                         "'; move the old file away or pick another path");
    std::vector<std::string> kept{lines[0]};
    for (size_t i = 1; i < lines.size(); ++i) {
      if (lines[i].empty()) continue;
      if (keep_through_step && row_step(lines[i]) > *keep_through_step) continue;
      kept.push_back(lines[i]);
    }
    if (kept.size() != lines.size() || dropped_partial) rewrite_log(path_, kept);
  }
  out_.open(path_, std::ios::binary | std::ios::app);
  if (!out_) throw MetricsError("metrics log '" + path_ + "': cannot be opened for writing");
  if (!has_content) out_ << header_ << '\n' << std::flush;
}

std::string MetricsLog::format_row(const MetricsRow& row) {
  std::string line = std::to_string(row.epoch) + "," + std::to_string(row.step);
  for (double value : {row.train_loss, row.valid_loss, row.valid_ppl}) {
    line += ',';
    append_number(line, value);
  }
  for (double value : row.model_metrics) {
    line += ',';
    append_number(line, value);
  }
  for (double value : {row.lr, row.tokens_per_s, row.elapsed_s}) {
    line += ',';
    append_number(line, value);
  }
  return line;
}

void MetricsLog::append(const MetricsRow& row) {
  if (row.model_metrics.size() != model_columns_)
    throw MetricsError("metrics log '" + path_ + "': a row has " + std::to_string(row.model_metrics.size()) +
                       " model metrics for " + std::to_string(model_columns_) + " columns");
  out_ << format_row(row) << '\n' << std::flush;
  if (!out_) throw MetricsError("metrics log '" + path_ + "': write failed");
}

}  // namespace loom::train
