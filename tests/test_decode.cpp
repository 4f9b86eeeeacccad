// Decoding (models/decode.*): a model trained briefly on the toy corpus
// translates its training pairs greedily; beam width 1 is greedy exactly;
// beam k returns at most k hypotheses, best first, each scored as teacher
// forcing scores it; the one-step decoder graph gives the training graph's
// log-probs for the same prefix; attention rows are distributions; plans are
// compiled once per shape; the length limit holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "models/seq2seq/decode.hpp"
#include "optim/optimizer.hpp"
#include "tests/support/op_test.hpp"
#include "tests/support/toy_corpus.hpp"

namespace loom {
namespace {

using models::seq2seq::Decoder;
using models::seq2seq::Seq2Seq;
using models::seq2seq::Seq2SeqConfig;
using models::seq2seq::Translation;

using Toy = test::ToyCorpus;

std::unique_ptr<Seq2Seq> make_model(const Toy& toy, const std::string& attention, int64_t layers = 1) {
  Seq2SeqConfig c;
  c.src_vocab = toy.source_vocab.size(), c.tgt_vocab = toy.target_vocab.size();
  c.embed = 16, c.hidden = 32, c.layers = layers, c.attention = attention;
  auto model = std::make_unique<Seq2Seq>(c);
  model->init_parameters(1);
  return model;
}

// Adam on the whole toy corpus, one batch a step.
void train(Seq2Seq& model, const Toy& toy, int steps) {
  auto adam = optim::make_optimizer({.kind = "adam"}, model.params());
  models::seq2seq::Batcher batcher(toy.pairs, {.batch_size = 32, .bucket_width = 100, .seed = 2});
  for (int step = 0; step < steps; ++step)
    for (const models::seq2seq::Batch& b : batcher.epoch(uint64_t(step))) {
      model.train_step_gradients(b);
      optim::clip_grad_norm(model.params(), 5.0);
      adam->step(model.params(), 0.02);
    }
}

// One model trained once for the tests that need a trained one.
struct Trained {
  Toy toy = test::load_toy_corpus();
  std::unique_ptr<Seq2Seq> model = make_model(toy, "dot");
  Trained() { train(*model, toy, 150); }
};
Trained& trained() {
  static Trained t;
  return t;
}

TEST(Decode, GreedyReproducesTrainingPairs) {
  Trained& t = trained();
  Decoder decoder(*t.model);
  int exact = 0;
  for (const text::EncodedPair& pair : t.toy.pairs) {
    Translation tr = decoder.greedy(pair.source);
    exact += tr.finished && tr.tokens == pair.target;
  }
  EXPECT_GE(exact, int(t.toy.pairs.size()) - 2) << "of " << t.toy.pairs.size();
  Translation first = decoder.greedy(t.toy.pairs[0].source);  // "let's go" -> "vamos"
  EXPECT_EQ(t.toy.target_vocab.decode(first.tokens), std::vector<std::string>{"vamos"});
  EXPECT_TRUE(first.finished);
  EXPECT_LT(first.log_prob, 0.0);
  EXPECT_NEAR(first.score, first.log_prob / double(first.tokens.size() + 1), 1e-12);
}

TEST(Decode, AttentionRowsAreDistributionsOverTheSource) {
  Trained& t = trained();
  Decoder decoder(*t.model);
  const std::vector<int32_t>& source = t.toy.pairs[4].source;
  Translation tr = decoder.greedy(source);
  const int64_t S = int64_t(source.size()) + 1;
  ASSERT_EQ(tr.attention.shape(), (Shape{int64_t(tr.tokens.size()), S}));
  for (int64_t r = 0; r < tr.attention.shape()[0]; ++r) {
    double total = 0;
    for (int64_t s = 0; s < S; ++s) total += tr.attention.at(r * S + s);
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
}

TEST(Decode, BeamWidthOneIsGreedy) {
  Trained& t = trained();
  Decoder decoder(*t.model);
  for (size_t i = 0; i < t.toy.pairs.size(); i += 3) {
    Translation greedy = decoder.greedy(t.toy.pairs[i].source);
    std::vector<Translation> beam = decoder.beam_search(t.toy.pairs[i].source, 1);
    ASSERT_EQ(beam.size(), 1u);
    EXPECT_EQ(beam[0].tokens, greedy.tokens);
    EXPECT_EQ(beam[0].finished, greedy.finished);
    EXPECT_EQ(beam[0].log_prob, greedy.log_prob);
    EXPECT_EQ(test::max_abs_diff(beam[0].attention, greedy.attention), 0.0);
  }
}

// Σ log p of tokens (+ <eos> when finished) under teacher forcing.
double forced_score(Decoder& decoder, const std::vector<int32_t>& source, const Translation& tr, int64_t V) {
  Tensor lp = decoder.forced_log_probs(source, tr.tokens);
  double total = 0;
  for (size_t t = 0; t < tr.tokens.size(); ++t) total += lp.at(int64_t(t) * V + tr.tokens[t]);
  if (tr.finished) total += lp.at(int64_t(tr.tokens.size()) * V + text::Vocabulary::kEos);
  return total;
}

TEST(Decode, BeamReturnsAtMostKSortedScoredHypotheses) {
  Toy toy = test::load_toy_corpus();
  auto model = make_model(toy, "general");
  train(*model, toy, 20);  // partly trained: several plausible outputs
  Decoder decoder(*model);
  const int64_t V = model->config().tgt_vocab;
  size_t most = 0;
  for (int64_t k : {2, 4}) {
    for (size_t i = 0; i < toy.pairs.size(); i += 5) {
      std::vector<Translation> hyps = decoder.beam_search(toy.pairs[i].source, k);
      ASSERT_GE(hyps.size(), 1u);
      most = std::max(most, hyps.size());
      EXPECT_LE(hyps.size(), size_t(k));
      std::set<std::vector<int32_t>> distinct;
      for (size_t h = 0; h < hyps.size(); ++h) {
        if (h > 0) {
          EXPECT_GE(hyps[h - 1].score, hyps[h].score);
        }
        distinct.insert(hyps[h].tokens);
        EXPECT_NEAR(hyps[h].log_prob, forced_score(decoder, toy.pairs[i].source, hyps[h], V), 1e-4);
        size_t scored = hyps[h].tokens.size() + (hyps[h].finished ? 1 : 0);
        EXPECT_NEAR(hyps[h].score, hyps[h].log_prob / double(scored), 1e-12);
      }
      EXPECT_EQ(distinct.size(), hyps.size());
    }
  }
  EXPECT_EQ(most, 4u);  // the beam does return several
}

// The step graph (lstm_cell, one position) and the training graph
// (lstm_sequence over the whole target) give the same log-probs.
void expect_step_matches_training(const std::string& attention, int64_t layers) {
  Toy toy = test::load_toy_corpus();
  auto model = make_model(toy, attention, layers);
  train(*model, toy, 5);
  Decoder decoder(*model);
  const text::EncodedPair& pair = toy.pairs[7];
  models::seq2seq::Batch batch = models::seq2seq::Batcher({pair}, {}).make_batch({0});
  Tensor logits = model->logits(batch);  // (1,T,V)
  Tensor step = decoder.forced_log_probs(pair.source, pair.target);  // (T,V)
  const int64_t T = batch.target_input.shape()[1], V = model->config().tgt_vocab;
  ASSERT_EQ(step.shape(), (Shape{T, V}));
  for (int64_t t = 0; t < T; ++t) {
    double m = -INFINITY, z = 0;
    for (int64_t v = 0; v < V; ++v) m = std::max(m, logits.at(t * V + v));
    for (int64_t v = 0; v < V; ++v) z += std::exp(logits.at(t * V + v) - m);
    for (int64_t v = 0; v < V; ++v)
      EXPECT_NEAR(step.at(t * V + v), logits.at(t * V + v) - m - std::log(z), 2e-5)
          << attention << " L=" << layers << " t=" << t << " v=" << v;
  }
}

TEST(Decode, StepLogProbsMatchTrainingGraph) {
  expect_step_matches_training("dot", 1);
  expect_step_matches_training("additive", 2);
  expect_step_matches_training("none", 2);
}

TEST(Decode, PlansAreCompiledOncePerShape) {
  Trained& t = trained();
  Decoder decoder(*t.model);
  const std::vector<int32_t>& a = t.toy.pairs[0].source;
  decoder.greedy(a);
  size_t plans = decoder.cached_plans();
  EXPECT_EQ(plans, 2u);  // encoder (S) and step (K=1,S)
  for (const text::EncodedPair& p : t.toy.pairs)
    if (p.source.size() == a.size()) decoder.greedy(p.source);
  EXPECT_EQ(decoder.cached_plans(), plans);
  decoder.beam_search(a, 3);
  EXPECT_EQ(decoder.cached_plans(), plans + 1);  // the (K=3,S) step graph
}

TEST(Decode, LengthLimitAndBadInput) {
  Toy toy = test::load_toy_corpus();
  auto model = make_model(toy, "cosine");  // untrained: rarely says <eos>
  Decoder decoder(*model);
  Translation tr = decoder.greedy(toy.pairs[0].source, 3);
  EXPECT_LE(tr.tokens.size(), 3u);
  if (!tr.finished) {
    EXPECT_EQ(tr.tokens.size(), 3u);
  }
  for (int32_t id : tr.tokens) {
    EXPECT_NE(id, text::Vocabulary::kPad);
    EXPECT_NE(id, text::Vocabulary::kBos);
  }
  Translation unlimited = decoder.greedy(toy.pairs[0].source);
  EXPECT_LE(unlimited.tokens.size(), 2 * (toy.pairs[0].source.size() + 1) + 10);
  EXPECT_THROW(decoder.greedy({9999}), std::invalid_argument);
  EXPECT_THROW(decoder.beam_search(toy.pairs[0].source, 0), std::invalid_argument);
}

}  // namespace
}  // namespace loom
