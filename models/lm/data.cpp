// Reading, tokenising and batching the language model's text (data.hpp).
#include "models/lm/data.hpp"
#include "runtime/epoch_order.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <unordered_map>

#include "text/corpus.hpp"
#include "text/tokenizer.hpp"

namespace loom::models::lm {

using text::TextError;
using text::Vocabulary;

namespace {

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

using runtime::epoch_rng;
using runtime::round_up;
using runtime::shuffle;

}  // namespace

// ---- tokens ----------------------------------------------------------------------------------

// Words: the tokenizer never joins across whitespace, so each
// whitespace-separated chunk is tokenised alone; a line may then hold more
// than the tokenizer's per-sentence limit (a paragraph, not a sentence).
std::vector<std::string> split_units(std::string_view text, Unit unit) {
  std::vector<std::string> out;
  if (unit == Unit::Char) {
    for (char32_t cp : text::decode_utf8(text)) {
      std::string token;
      text::append_utf8(token, cp);
      out.push_back(std::move(token));
    }
    return out;
  }
  if (int64_t bad = text::find_invalid_utf8(text); bad >= 0)
    throw TextError("invalid UTF-8 at byte offset " + std::to_string(bad));
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_ascii_space(text[i])) ++i;
    size_t end = i;
    while (end < text.size() && !is_ascii_space(text[end])) ++end;
    if (end > i)
      for (std::string& t : text::tokenize(text.substr(i, end - i))) out.push_back(std::move(t));
    i = end;
  }
  return out;
}

std::string join_units(const std::vector<std::string>& tokens, Unit unit) {
  if (unit == Unit::Word) return text::join_tokens(tokens);
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

void for_each_line(const std::string& path, Unit unit,
                   const std::function<void(int64_t line, std::vector<std::string>& tokens)>& f) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TextError(path + ": cannot open text file for reading");
  int64_t number = 0, used = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string where = path + ":" + std::to_string(number) + ": ";
    if (line.size() > text::kMaxLineBytes)
      throw TextError(where + "line of " + std::to_string(line.size()) + " bytes; at most " +
                      std::to_string(text::kMaxLineBytes) + " are accepted");
    if (std::all_of(line.begin(), line.end(), is_ascii_space)) continue;
    std::vector<std::string> tokens;
    try {
      tokens = split_units(line, unit);
    } catch (const TextError& e) {
      throw TextError(where + e.what());
    }
    if (tokens.empty()) continue;
    ++used;
    f(number, tokens);
  }
  if (in.bad()) throw TextError(path + ": read failed");
  if (used == 0) throw TextError(path + ": holds no line with a token");
}

text::Vocabulary build_vocabulary(const std::string& path, Unit unit, const text::VocabularyOptions& options) {
  std::unordered_map<std::string, int64_t> counts;
  for_each_line(path, unit, [&](int64_t, std::vector<std::string>& tokens) {
    for (std::string& t : tokens) ++counts[std::move(t)];
  });
  const Vocabulary reserved;
  std::vector<std::pair<std::string, int64_t>> ranked;
  for (auto& [token, n] : counts)
    if (n >= options.min_frequency && !reserved.contains(token)) ranked.emplace_back(token, n);
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> tokens = reserved.tokens();
  const size_t room = options.max_size > 0 ? size_t(std::max<int64_t>(options.max_size - Vocabulary::kReserved, 0))
                                           : ranked.size();
  for (size_t i = 0; i < std::min(room, ranked.size()); ++i) tokens.push_back(std::move(ranked[i].first));
  return Vocabulary::from_tokens(tokens, path);
}

// ---- batches ---------------------------------------------------------------------------------

std::string LmBatch::to_json() const {
  auto rows_of = [](const Tensor& t) {
    const int32_t* p = t.data<int32_t>();
    const int64_t rows = t.shape()[0], cols = t.shape()[1];
    nlohmann::json out = nlohmann::json::array();
    for (int64_t r = 0; r < rows; ++r) out.push_back(std::vector<int32_t>(p + r * cols, p + (r + 1) * cols));
    return out;
  };
  const int32_t* n = lengths.data<int32_t>();
  nlohmann::json row = {{"input", rows_of(input)},
                        {"target", rows_of(target)},
                        {"lengths", std::vector<int32_t>(n, n + lengths.shape()[0])},
                        {"tokens", tokens}};
  return row.dump();
}

LmBatch make_lm_batch(const std::vector<std::span<const int32_t>>& windows, int64_t length_multiple) {
  const int64_t B = int64_t(windows.size());
  int64_t longest = 1;
  for (const auto& w : windows) longest = std::max<int64_t>(longest, int64_t(w.size()) - 1);
  const int64_t T = round_up(longest, length_multiple);
  LmBatch batch;
  // Tensors start zero-filled, which is <pad>.
  batch.input = Tensor(DType::I32, {B, T});
  batch.target = Tensor(DType::I32, {B, T});
  batch.lengths = Tensor(DType::I32, {B});
  int32_t* in = batch.input.data<int32_t>();
  int32_t* out = batch.target.data<int32_t>();
  for (int64_t r = 0; r < B; ++r) {
    const std::span<const int32_t> w = windows[size_t(r)];
    const int64_t n = int64_t(w.size()) - 1;
    std::copy(w.begin(), w.end() - 1, in + r * T);
    std::copy(w.begin() + 1, w.end(), out + r * T);
    batch.lengths.data<int32_t>()[r] = int32_t(n);
    batch.tokens += n;
  }
  return batch;
}

// ---- the dataset -----------------------------------------------------------------------------

LmData::LmData(const std::string& path, Unit unit, const text::Vocabulary& vocab, DataOptions options)
    : path_(path), options_(options) {
  if (options_.batch_size < 1) throw std::invalid_argument("batch size must be >= 1, got " + std::to_string(options_.batch_size));
  if (options_.max_length < 1) throw std::invalid_argument("--max-length must be >= 1, got " + std::to_string(options_.max_length));
  if (options_.length_multiple < 1)
    throw std::invalid_argument("--length-multiple must be >= 1, got " + std::to_string(options_.length_multiple));
  std::vector<int32_t> stream;
  for_each_line(path, unit, [&](int64_t, std::vector<std::string>& tokens) {
    ++lines_;
    stream.assign(1, Vocabulary::kBos);
    for (const std::string& t : tokens) stream.push_back(vocab.id(t));
    stream.push_back(Vocabulary::kEos);
    const int64_t predictions = int64_t(stream.size()) - 1;
    for (int64_t first = 0; first < predictions; first += options_.max_length) {
      const int64_t m = std::min(options_.max_length, predictions - first);
      windows_.emplace_back(int64_t(ids_.size()), m);
      ids_.insert(ids_.end(), stream.begin() + first, stream.begin() + first + m + 1);
    }
  });
}

std::span<const int32_t> LmData::window(int64_t i) const {
  if (i < 0 || i >= examples())
    throw std::out_of_range(path_ + ": example " + std::to_string(i) + " is outside [0, " +
                            std::to_string(examples()) + ")");
  const auto [start, predictions] = windows_[size_t(i)];
  return {ids_.data() + start, size_t(predictions + 1)};
}

std::vector<std::vector<int64_t>> LmData::cut(const std::vector<int64_t>& order) const {
  std::vector<std::vector<int64_t>> batches;
  const size_t b = size_t(options_.batch_size);
  for (size_t start = 0; start < order.size(); start += b)
    batches.emplace_back(order.begin() + int64_t(start), order.begin() + int64_t(std::min(start + b, order.size())));
  return batches;
}

std::vector<std::vector<int64_t>> LmData::evaluation_plan() const {
  std::vector<int64_t> order(windows_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int64_t(i);
  return cut(order);
}

std::vector<std::vector<int64_t>> LmData::epoch_plan(uint64_t epoch) const {
  if (!options_.shuffle) return evaluation_plan();
  std::mt19937_64 rng = epoch_rng(options_.seed, epoch);
  std::map<int64_t, std::vector<int64_t>> buckets;  // ordered: deterministic iteration
  for (size_t i = 0; i < windows_.size(); ++i)
    buckets[round_up(windows_[i].second, options_.length_multiple)].push_back(int64_t(i));
  std::vector<std::vector<int64_t>> batches;
  for (auto& [length, members] : buckets) {
    shuffle(members, rng);
    for (std::vector<int64_t>& b : cut(members)) batches.push_back(std::move(b));
  }
  shuffle(batches, rng);
  return batches;
}

std::unique_ptr<runtime::Batch> LmData::make_batch(std::span<const int64_t> examples) const {
  std::vector<std::span<const int32_t>> windows;
  windows.reserve(examples.size());
  for (int64_t i : examples) windows.push_back(window(i));
  return std::make_unique<LmBatch>(make_lm_batch(windows, options_.length_multiple));
}

std::string LmData::describe() const {
  return std::to_string(examples()) + " sequences (" + std::to_string(lines_) + " lines) of " + path_;
}

std::vector<runtime::Metric> text_metrics(const runtime::Evaluation& totals, Unit unit) {
  if (unit != Unit::Char) return {};
  const double bpc = totals.loss() / std::log(2.0);
  char text[40];
  std::snprintf(text, sizeof text, "bpc %.3f", bpc);
  return {{"bpc", bpc, text}};
}

std::vector<std::string> logged_text_metrics(Unit unit) {
  if (unit == Unit::Char) return {"bpc"};
  return {};
}

}  // namespace loom::models::lm
