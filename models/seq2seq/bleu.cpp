// BLEU and accuracies of translations (see bleu.hpp).
// N-grams are counted as vectors of string_views into the sentences, so no
// token is copied and no separator character can collide with a token.
#include "models/seq2seq/bleu.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>
#include <string_view>
#include <unistd.h>

namespace loom::models::seq2seq {

namespace {

using NGram = std::vector<std::string_view>;
using NGramCounts = std::map<NGram, int64_t>;

NGramCounts count_ngrams(const Tokens& tokens, size_t n) {
  NGramCounts counts;
  for (size_t i = 0; i + n <= tokens.size(); ++i) {
    NGram gram(tokens.begin() + std::ptrdiff_t(i), tokens.begin() + std::ptrdiff_t(i + n));
    ++counts[gram];
  }
  return counts;
}

void check_same_size(size_t hypotheses, size_t references, const char* what) {
  if (hypotheses != references)
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(hypotheses) + " hypotheses but " +
                                std::to_string(references) + " references");
}

double brevity_penalty(int64_t hypothesis_length, int64_t reference_length) {
  if (hypothesis_length == 0) return 0;
  if (hypothesis_length > reference_length) return 1;
  return std::exp(1.0 - double(reference_length) / double(hypothesis_length));
}

}  // namespace

// ---- BLEU ----

void BleuStats::add(const Tokens& hypothesis, const Tokens& reference) {
  hypothesis_length += int64_t(hypothesis.size());
  reference_length += int64_t(reference.size());
  for (size_t n = 1; n <= 4; ++n) {
    NGramCounts hyp = count_ngrams(hypothesis, n);
    NGramCounts ref = count_ngrams(reference, n);
    for (const auto& [gram, count] : hyp) {
      auto it = ref.find(gram);
      // Clipping: a hypothesis n-gram matches at most as often as the reference has it.
      if (it != ref.end()) matches[n - 1] += std::min(count, it->second);
      totals[n - 1] += count;
    }
  }
}

BleuScore bleu_from_stats(const BleuStats& stats) {
  BleuScore score;
  score.hypothesis_length = stats.hypothesis_length;
  score.reference_length = stats.reference_length;
  score.brevity_penalty = brevity_penalty(stats.hypothesis_length, stats.reference_length);
  double log_sum = 0;
  bool any_zero = false;
  for (size_t n = 0; n < 4; ++n) {
    double p = stats.totals[n] > 0 ? double(stats.matches[n]) / double(stats.totals[n]) : 0.0;
    score.precisions[n] = p;
    if (p == 0) any_zero = true;
    else log_sum += std::log(p);
  }
  // Unsmoothed: log(0) makes the geometric mean 0.
  score.bleu = any_zero ? 0.0 : 100.0 * score.brevity_penalty * std::exp(log_sum / 4.0);
  return score;
}

BleuScore corpus_bleu(const std::vector<Tokens>& hypotheses, const std::vector<Tokens>& references) {
  check_same_size(hypotheses.size(), references.size(), "corpus_bleu");
  BleuStats stats;
  for (size_t i = 0; i < hypotheses.size(); ++i) stats.add(hypotheses[i], references[i]);
  return bleu_from_stats(stats);
}

double sentence_bleu(const Tokens& hypothesis, const Tokens& reference) {
  BleuStats stats;
  stats.add(hypothesis, reference);
  if (stats.hypothesis_length == 0 || stats.matches[0] == 0) return 0;
  double log_sum = std::log(double(stats.matches[0]) / double(stats.totals[0]));
  for (size_t n = 1; n < 4; ++n)
    log_sum += std::log(double(stats.matches[n] + 1) / double(stats.totals[n] + 1));
  return 100.0 * brevity_penalty(stats.hypothesis_length, stats.reference_length) * std::exp(log_sum / 4.0);
}

// ---- accuracies and perplexity ----

double token_accuracy(const std::vector<Tokens>& hypotheses, const std::vector<Tokens>& references) {
  check_same_size(hypotheses.size(), references.size(), "token_accuracy");
  int64_t correct = 0, total = 0;
  for (size_t i = 0; i < references.size(); ++i) {
    const Tokens& hyp = hypotheses[i];
    const Tokens& ref = references[i];
    for (size_t t = 0; t < ref.size(); ++t)
      if (t < hyp.size() && hyp[t] == ref[t]) ++correct;
    total += int64_t(ref.size());
  }
  return total > 0 ? double(correct) / double(total) : 0.0;
}

double token_accuracy(std::span<const int32_t> predicted, std::span<const int32_t> target, int32_t ignore_id) {
  check_same_size(predicted.size(), target.size(), "token_accuracy (ids)");
  int64_t correct = 0, total = 0;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == ignore_id) continue;
    ++total;
    if (predicted[i] == target[i]) ++correct;
  }
  return total > 0 ? double(correct) / double(total) : 0.0;
}

double sequence_accuracy(const std::vector<Tokens>& hypotheses, const std::vector<Tokens>& references) {
  check_same_size(hypotheses.size(), references.size(), "sequence_accuracy");
  if (references.empty()) return 0;
  int64_t exact = 0;
  for (size_t i = 0; i < references.size(); ++i)
    if (hypotheses[i] == references[i]) ++exact;
  return double(exact) / double(references.size());
}

}  // namespace loom::models::seq2seq
