// The language model's data (docs/MODEL.md, The language model; docs/DATA.md):
// a text file read line by line, each line a sequence of tokens (words of
// the project's tokenizer or Unicode code points), the vocabulary built from
// a training file, and the padded batches of examples.
//
// An example is one window of a line's token stream <bos> x1 .. xn <eos>:
// its input is the window without its last token, its target the window
// without its first, so each input position predicts the next token. A line
// of n tokens makes n + 1 predictions, cut into windows of at most
// max_length predictions; a later window starts from the token before its
// first target instead of <bos>, and only the last ends with <eos>. Every
// window starts from a zero LSTM state.
//
// Training epochs bucket examples by padded length (rounded up to
// length_multiple, so a bucket is one plan shape), shuffle each bucket and
// then the batches with std::mt19937_64 seeded from (seed, epoch) and our own
// Fisher-Yates (std::shuffle differs between standard libraries); evaluation
// serves the examples in file order.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "graph/tensor.hpp"
#include "models/lm/config.hpp"
#include "runtime/model.hpp"
#include "text/vocabulary.hpp"

namespace loom::models::lm {

// The tokens of one line (or prompt). Word: the project's tokenizer
// (lower-cased words and punctuation). Char: every code point, spaces
// included, case kept. Throws text::TextError on invalid UTF-8.
std::vector<std::string> split_units(std::string_view text, Unit unit);
// Tokens back to text: words joined by single spaces, characters concatenated.
std::string join_units(const std::vector<std::string>& tokens, Unit unit);

// Calls f(line_number, tokens) for every line of the file that holds a token
// (blank lines are skipped; a trailing '\r' is dropped). Throws
// text::TextError naming path:line for an unreadable file, invalid UTF-8 or a
// line over text::kMaxLineBytes, and naming the file when no line has a token.
void for_each_line(const std::string& path, Unit unit,
                   const std::function<void(int64_t line, std::vector<std::string>& tokens)>& f);

// The vocabulary of a training file: the reserved four, then tokens seen at
// least min_frequency times, most frequent first (ties in byte order), at most
// max_size ids in all (0: no limit), as text::Vocabulary::build orders them.
text::Vocabulary build_vocabulary(const std::string& path, Unit unit, const text::VocabularyOptions& options);

struct DataOptions {
  int64_t batch_size = 32;
  int64_t max_length = 128;      // predictions per example
  int64_t length_multiple = 8;   // padded lengths are multiples of this
  uint64_t seed = 1;
  bool shuffle = true;           // false: file order (evaluation)
};

// One padded batch. B rows, T = the longest example rounded up to length_multiple.
class LmBatch : public runtime::Batch {
 public:
  Tensor input;    // i32 (B,T): <bos> x1 .. (or the window's first token), then <pad>
  Tensor target;   // i32 (B,T): the next token at each position, then <pad>
  Tensor lengths;  // i32 (B): real positions of each row
  int64_t tokens = 0;  // Σ lengths: the predictions the loss averages over

  int64_t rows() const override { return input.shape()[0]; }
  int64_t loss_tokens() const override { return tokens; }
  int64_t length() const { return input.shape()[1]; }
  std::string to_json() const override;
};

// Examples (windows of lines) of one file encoded with a vocabulary.
class LmData : public runtime::Dataset {
 public:
  // Throws text::TextError as for_each_line, and std::invalid_argument for a bad option.
  LmData(const std::string& path, Unit unit, const text::Vocabulary& vocab, DataOptions options);

  int64_t examples() const override { return int64_t(windows_.size()); }
  std::vector<std::vector<int64_t>> epoch_plan(uint64_t epoch) const override;
  std::vector<std::vector<int64_t>> evaluation_plan() const override;
  std::unique_ptr<runtime::Batch> make_batch(std::span<const int64_t> examples) const override;
  std::string describe() const override;

  // The window of example i: input ids followed by the last target.
  std::span<const int32_t> window(int64_t i) const;
  int64_t lines() const { return lines_; }

 private:
  std::vector<std::vector<int64_t>> cut(const std::vector<int64_t>& order) const;

  std::string path_;
  DataOptions options_;
  int64_t lines_ = 0;
  std::vector<int32_t> ids_;                         // every window, one after another
  std::vector<std::pair<int64_t, int64_t>> windows_;  // (start in ids_, predictions)
};

// The figures of an evaluation of text: bits per character (the mean loss
// over ln 2) for a character model; a word model's loss and perplexity,
// which the trainer prints itself, say it all. `logged_text_metrics` names
// the metrics.csv columns they fill.
std::vector<runtime::Metric> text_metrics(const runtime::Evaluation& totals, Unit unit);
std::vector<std::string> logged_text_metrics(Unit unit);

// The padded batch of the given windows (each: input ids then the last target), in that order.
LmBatch make_lm_batch(const std::vector<std::span<const int32_t>>& windows, int64_t length_multiple);

}  // namespace loom::models::lm
