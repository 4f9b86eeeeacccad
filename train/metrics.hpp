// The training log: MetricsLog appends one CSV row per log interval or
// validation and flushes it at once. Its columns are the trainer's own plus
// the model's metrics (the translator's valid_bleu, a character model's
// valid_bpc), named when the log is opened.
#pragma once
#include <cstdint>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace loom::train {

// A metrics file that cannot be read or written; the message names the path.
struct MetricsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One row of the training log. NaN means "not measured at this row" and is
// written as an empty field (validation runs less often than logging).
struct MetricsRow {
  int64_t epoch = 0;
  int64_t step = 0;
  double train_loss = 0;
  double valid_loss = 0;
  double valid_ppl = 0;
  std::vector<double> model_metrics;  // one per model metric column, in order
  double lr = 0;
  double tokens_per_s = 0;
  double elapsed_s = 0;
};

// Appends rows to a CSV file: the header is written when the file is new or
// empty, each row is flushed, and reopening an existing log (a resumed run)
// continues it. keep_through_step drops rows with a larger step first (a run
// resumed from an earlier checkpoint rewrites its future). Throws MetricsError
// naming the path when the file cannot be opened or has another header.
class MetricsLog {
 public:
  // "epoch,step,train_loss,valid_loss,valid_ppl,<model columns>,lr,tokens_per_s,elapsed_s"
  static std::string header(const std::vector<std::string>& model_columns);

  explicit MetricsLog(std::string path, std::optional<int64_t> keep_through_step = std::nullopt,
                      std::vector<std::string> model_columns = {"valid_bleu"});
  void append(const MetricsRow& row);
  const std::string& path() const { return path_; }

  // The CSV text of one row (no newline), as append writes it.
  static std::string format_row(const MetricsRow& row);

 private:
  std::string path_;
  std::string header_;
  size_t model_columns_;
  std::ofstream out_;
};

}  // namespace loom::train
