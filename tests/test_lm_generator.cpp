// Generation from the language model (models/lm/generator.*): the step plan's
// logits after a prompt equal the evaluation plan's at the prompt's last
// position; temperature 0 is greedy (the first largest logit, never <pad> or
// <bos>) and deterministic; the same seed draws the same text and another
// seed another; top-k 1 is greedy at any temperature; sampling follows the
// softmax it claims; bad options are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "models/lm/generator.hpp"
#include "optim/optimizer.hpp"

namespace loom::models::lm {
namespace {

using text::Vocabulary;

void set_element(const TensorRef& r, int64_t i, double v) {
  if (r.dtype() == DType::F64) r.ptr<double>()[i] = v;
  else r.ptr<float>()[i] = float(v);
}

text::Vocabulary char_vocab() {
  std::vector<std::string> tokens{"<pad>", "<unk>", "<bos>", "<eos>"};
  for (const char* t : {"a", "b", "c", " ", "d", "e"}) tokens.push_back(t);
  return text::Vocabulary::from_tokens(tokens);
}

// A 2-layer character model with wide random weights, so that every step's
// distribution is far from uniform, and <eos> made unlikely, so that a
// generation runs long enough to show something.
LanguageModel& wide_model(DType dtype) {
  static std::map<DType, std::unique_ptr<LanguageModel>> models;
  auto& slot = models[dtype];
  if (!slot) {
    LmConfig c;
    c.vocab = 10, c.embed = 6, c.hidden = 8, c.layers = 2, c.dropout = 0.0, c.unit = Unit::Char, c.dtype = dtype;
    slot = std::make_unique<LanguageModel>(c, char_vocab());
    std::mt19937_64 rng(17);
    slot->params().fill_uniform(rng, 0.8);
    set_element(slot->params().value("out.bias"), Vocabulary::kEos, -30.0);
  }
  return *slot;
}

int32_t argmax_emittable(const double* row, int64_t V) {
  int32_t best = -1;
  for (int32_t v = 0; v < V; ++v)
    if (v != Vocabulary::kPad && v != Vocabulary::kBos && (best < 0 || row[v] > row[best])) best = v;
  return best;
}

TEST(LmGenerator, StepLogitsEqualTheEvaluationLogitsAndGreedyTakesTheirArgmax) {
  LanguageModel& model = wide_model(DType::F64);
  Generator generator(model);
  const std::vector<int32_t> prompt = model.vocab().encode(split_units("ab ca", Unit::Char));
  std::vector<int32_t> window{Vocabulary::kBos};
  window.insert(window.end(), prompt.begin(), prompt.end());
  window.push_back(Vocabulary::kEos);
  const LmBatch batch = make_lm_batch({std::span<const int32_t>(window)}, 8);
  const Tensor logits = model.logits(batch);  // (1,8,V)
  const int64_t V = 10, last = int64_t(prompt.size());
  const std::vector<double> step = generator.next_logits(prompt);
  ASSERT_EQ(int64_t(step.size()), V);
  for (int64_t v = 0; v < V; ++v) EXPECT_NEAR(step[size_t(v)], logits.at(last * V + v), 1e-12) << v;

  const GenerateOptions greedy{.max_tokens = 1, .temperature = 0.0, .top_k = 0, .seed = 1};
  const Generation g = generator.generate("ab ca", greedy);
  EXPECT_EQ(g.prompt, prompt);
  std::vector<double> row(logits.data<double>() + last * V, logits.data<double>() + (last + 1) * V);
  const int32_t expected = argmax_emittable(row.data(), V);
  if (expected == Vocabulary::kEos) {
    EXPECT_TRUE(g.finished);
  } else {
    ASSERT_EQ(g.tokens.size(), 1u);
    EXPECT_EQ(g.tokens[0], expected);
  }
}

TEST(LmGenerator, GreedyIsDeterministicAndTopKOneIsGreedy) {
  LanguageModel& model = wide_model(DType::F32);
  Generator generator(model), other(model);
  const GenerateOptions greedy{.max_tokens = 40, .temperature = 0.0, .top_k = 0, .seed = 1};
  const Generation a = generator.generate("ab", greedy);
  EXPECT_EQ(generator.generate("ab", greedy).tokens, a.tokens);
  EXPECT_EQ(other.generate("ab", {.max_tokens = 40, .temperature = 0.0, .top_k = 0, .seed = 99}).tokens, a.tokens);
  EXPECT_EQ(other.generate("ab", {.max_tokens = 40, .temperature = 1.5, .top_k = 1, .seed = 5}).tokens, a.tokens);
  for (int32_t id : a.tokens) {
    EXPECT_NE(id, Vocabulary::kPad);
    EXPECT_NE(id, Vocabulary::kBos);
    EXPECT_NE(id, Vocabulary::kEos);
  }
  EXPECT_TRUE(a.finished || a.tokens.size() == 40u);
  EXPECT_GE(a.tokens.size(), 5u) << "too short to show anything";
  std::string text;
  for (int32_t id : a.tokens) text += model.vocab().token(id);
  EXPECT_EQ(a.text, text);
}

TEST(LmGenerator, TheSameSeedDrawsTheSameTextAndAnotherSeedAnother) {
  LanguageModel& model = wide_model(DType::F32);
  Generator generator(model);
  GenerateOptions o{.max_tokens = 60, .temperature = 1.0, .top_k = 0, .seed = 3};
  const Generation a = generator.generate("", o);
  EXPECT_EQ(generator.generate("", o).tokens, a.tokens);
  bool differs = false;
  for (uint64_t seed = 4; seed < 10 && !differs; ++seed) {
    o.seed = seed;
    differs = generator.generate("", o).tokens != a.tokens;
  }
  EXPECT_TRUE(differs) << "six other seeds all drew the same text";
  o.max_tokens = 0;
  EXPECT_TRUE(generator.generate("abc", o).tokens.empty());
}

// draw_token's frequencies follow softmax(logits / T) over the top k.
TEST(LmGenerator, DrawsFollowTheTemperedSoftmaxOverTheTopK) {
  const std::vector<double> logits{5.0, 0.0, 9.0, std::log(3.0), 0.0, std::log(6.0), -50.0};
  std::mt19937_64 rng(1);
  const GenerateOptions o{.max_tokens = 1, .temperature = 1.0, .top_k = 3, .seed = 1};
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[draw_token(logits, o, rng)];
  // <pad> (5.0) and <bos> (9.0) are never drawn; the top 3 of the rest are ids 5, 3, 1|4 (0.0, lower id first).
  EXPECT_EQ(counts.count(0) + counts.count(2) + counts.count(4) + counts.count(6), 0u);
  EXPECT_NEAR(counts[5] / double(n), 6.0 / 10.0, 0.015);
  EXPECT_NEAR(counts[3] / double(n), 3.0 / 10.0, 0.015);
  EXPECT_NEAR(counts[1] / double(n), 1.0 / 10.0, 0.015);
  const GenerateOptions cold{.max_tokens = 1, .temperature = 0.0, .top_k = 0, .seed = 1};
  EXPECT_EQ(draw_token(logits, cold, rng), 5);
  const GenerateOptions hot{.max_tokens = 1, .temperature = 1e6, .top_k = 0, .seed = 1};
  std::map<int32_t, int> flat;
  for (int i = 0; i < 5000; ++i) ++flat[draw_token(logits, hot, rng)];
  EXPECT_EQ(flat.size(), 5u);  // every emittable id, nearly uniform
}

TEST(LmGenerator, BadOptionsAreRefused) {
  LanguageModel& model = wide_model(DType::F32);
  Generator generator(model);
  auto refused = [&](GenerateOptions o, const std::string& why) {
    try {
      generator.generate("a", o);
      ADD_FAILURE() << "accepted; expected: " << why;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  refused({.max_tokens = -1}, "max_tokens must be >= 0");
  refused({.temperature = -0.5}, "temperature must be a finite number >= 0");
  refused({.temperature = std::nan("")}, "temperature must be a finite number >= 0");
  refused({.temperature = INFINITY}, "temperature must be a finite number >= 0");
  refused({.top_k = -2}, "top_k must be >= 0");
  EXPECT_THROW(generator.generate_ids({4, 10}, {}), std::invalid_argument);
}

TEST(LmGenerator, StopsAtEos) {
  LmConfig c;
  c.vocab = 10, c.embed = 6, c.hidden = 8, c.layers = 1, c.dropout = 0.0, c.unit = Unit::Char;
  LanguageModel model(c, char_vocab());
  model.init_parameters(2);
  set_element(model.params().value("out.bias"), Vocabulary::kEos, 30.0);
  Generator generator(model);
  const Generation g = generator.generate("abc", {.max_tokens = 10, .temperature = 1.0, .top_k = 0, .seed = 1});
  EXPECT_TRUE(g.finished);
  EXPECT_TRUE(g.tokens.empty());
  EXPECT_EQ(g.text, "");
}

// The step plan reads the store's current weights (packed once per update).
TEST(LmGenerator, SeesWeightsChangedByTraining) {
  LmConfig c;
  c.vocab = 10, c.embed = 6, c.hidden = 8, c.layers = 1, c.dropout = 0.0, c.unit = Unit::Char;
  LanguageModel model(c, char_vocab());
  model.init_parameters(2);
  Generator generator(model);
  const std::vector<double> before = generator.next_logits({4, 5});
  const std::vector<int32_t> window{Vocabulary::kBos, 4, 5, 6};
  const LmBatch batch = make_lm_batch({std::span<const int32_t>(window)}, 1);
  auto sgd = optim::make_optimizer({.kind = "sgd"}, model.params());
  model.train_step(batch);
  sgd->step(model.params(), 1.0);
  const std::vector<double> after = generator.next_logits({4, 5});
  const Tensor logits = model.logits(batch);
  for (int64_t v = 0; v < 10; ++v) EXPECT_NEAR(after[size_t(v)], logits.at(2 * 10 + v), 1e-5) << v;
  EXPECT_NE(before, after);
}

}  // namespace
}  // namespace loom::models::lm
