// Evaluation metrics of translations.
// BLEU follows Papineni et al. (2002) with one reference per sentence: clipped
// n-gram counts (n = 1..4) are summed over the whole corpus before the
// precisions are taken, their geometric mean is scaled by the brevity penalty,
// and the score is reported on a 0-100 scale. Corpus BLEU is unsmoothed: a
// corpus with no matching 4-gram scores 0. sentence_bleu adds one to the
// n > 1 counts (Lin & Och 2004) so that single sentences get a useful number.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace loom::models::seq2seq {

using Tokens = std::vector<std::string>;

// Sufficient statistics of corpus BLEU: add sentence pairs, then score.
struct BleuStats {
  std::array<int64_t, 4> matches{};  // clipped n-gram matches, index n-1
  std::array<int64_t, 4> totals{};   // n-grams in the hypotheses, index n-1
  int64_t hypothesis_length = 0;     // c: hypothesis tokens
  int64_t reference_length = 0;      // r: reference tokens

  void add(const Tokens& hypothesis, const Tokens& reference);
};

struct BleuScore {
  double bleu = 0;                    // 0..100
  std::array<double, 4> precisions{}; // p_n in 0..1 (0 when there are no n-grams)
  double brevity_penalty = 0;         // 1 when c > r, exp(1 - r/c) otherwise, 0 when c = 0
  int64_t hypothesis_length = 0;
  int64_t reference_length = 0;
};

BleuScore bleu_from_stats(const BleuStats& stats);
// hypotheses[i] is scored against references[i]; throws std::invalid_argument
// when the two lists differ in length.
BleuScore corpus_bleu(const std::vector<Tokens>& hypotheses, const std::vector<Tokens>& references);
// Smoothed sentence BLEU (0..100) for display next to single translations:
// p_1 = m_1/t_1 and p_n = (m_n + 1)/(t_n + 1) for n > 1. 0 for an empty hypothesis.
double sentence_bleu(const Tokens& hypothesis, const Tokens& reference);

// Position-wise token accuracy: tokens with hypothesis[i] == reference[i],
// over all reference tokens (extra or missing hypothesis tokens count as wrong
// through the reference length). 0 when there are no reference tokens.
double token_accuracy(const std::vector<Tokens>& hypotheses, const std::vector<Tokens>& references);
// The same on padded id tensors flattened to (B*T): positions whose target is
// ignore_id (padding) are skipped. Spans must have the same length.
double token_accuracy(std::span<const int32_t> predicted, std::span<const int32_t> target, int32_t ignore_id);
// Fraction of sentences translated exactly.
double sequence_accuracy(const std::vector<Tokens>& hypotheses, const std::vector<Tokens>& references);

}  // namespace loom::models::seq2seq
