// The language model (models/lm/language_model.*): parameter names and shapes
// as docs/MODEL.md fixes them, tied or not; bad configs refused with a
// reason; the loss at init near log V and falling under Adam on a tiny text;
// padding changes nothing; dropout masks follow the seed; a tied model keeps
// one table whose gradient is the sum of its two uses; bits per character.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "models/lm/language_model.hpp"
#include "optim/optimizer.hpp"

namespace loom::models::lm {
namespace {

text::Vocabulary synthetic_vocab(int64_t size) {
  std::vector<std::string> tokens{"<pad>", "<unk>", "<bos>", "<eos>"};
  for (int64_t i = 4; i < size; ++i) tokens.push_back("w" + std::to_string(i));
  return text::Vocabulary::from_tokens(tokens);
}

LmConfig small_config(bool tied = false, DType dtype = DType::F64) {
  LmConfig c;
  c.vocab = 9, c.embed = 5, c.hidden = tied ? 5 : 6, c.layers = 2, c.dropout = 0.0;
  c.tie_weights = tied;
  c.dtype = dtype;
  return c;
}

// Three windows of different lengths over ids 4..8.
LmBatch small_batch(int64_t length_multiple = 1) {
  const std::vector<std::vector<int32_t>> windows{{2, 4, 5, 6, 7, 3}, {2, 8, 3}, {5, 6, 4, 8}};
  std::vector<std::span<const int32_t>> spans(windows.begin(), windows.end());
  return make_lm_batch(spans, length_multiple);
}

std::vector<std::string> names(const ParameterStore& params) {
  std::vector<std::string> out;
  for (const auto& e : params.entries()) out.push_back(e.name + " " + e.shape.str());
  return out;
}

TEST(LmModel, ParameterNamesAndShapesFollowTheDocs) {
  LanguageModel untied(small_config(false), synthetic_vocab(9));
  const std::vector<std::string> expected{
      "embedding.weight [9,5]", "lstm.weight_ih_l0 [24,5]", "lstm.weight_hh_l0 [24,6]", "lstm.bias_ih_l0 [24]",
      "lstm.bias_hh_l0 [24]",    "lstm.weight_ih_l1 [24,6]", "lstm.weight_hh_l1 [24,6]", "lstm.bias_ih_l1 [24]",
      "lstm.bias_hh_l1 [24]",    "out.weight [9,6]",         "out.bias [9]"};
  EXPECT_EQ(names(untied.params()), expected);
  EXPECT_EQ(untied.kind(), "lm");

  LanguageModel tied(small_config(true), synthetic_vocab(9));
  const std::vector<std::string> got = names(tied.params());
  EXPECT_EQ(got.size(), expected.size() - 1);
  EXPECT_EQ(got.front(), "embedding.weight [9,5]");
  EXPECT_EQ(got.back(), "out.bias [9]");
  EXPECT_FALSE(tied.params().has("out.weight"));
  EXPECT_EQ(lm_parameter_shapes(tied.lm_config()).size(), got.size());
}

TEST(LmModel, BadConfigsAreRefusedWithTheReason) {
  auto refused = [](LmConfig c, int64_t vocab_size, const std::string& why) {
    try {
      LanguageModel model(c, synthetic_vocab(vocab_size));
      ADD_FAILURE() << "accepted; expected: " << why;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  LmConfig tie_mismatch = small_config(false);
  tie_mismatch.tie_weights = true;
  refused(tie_mismatch, 9, "tied weights need embed == hidden");
  LmConfig no_words = small_config();
  no_words.vocab = 4;
  refused(no_words, 4, "vocab must exceed the 4 reserved ids");
  LmConfig dropout = small_config();
  dropout.dropout = 1.0;
  refused(dropout, 9, "dropout must be in [0, 1)");
  refused(small_config(), 8, "the vocabulary has 8 tokens but the config says vocab=9");
}

TEST(LmModel, InitialLossIsNearLogVAndPaddingChangesNothing) {
  LanguageModel model(small_config(), synthetic_vocab(9));
  model.init_parameters(3);
  const LmBatch tight = small_batch(1), padded = small_batch(8);
  ASSERT_EQ(tight.length(), 5);
  ASSERT_EQ(padded.length(), 8);
  EXPECT_EQ(tight.tokens, 5 + 2 + 3);
  const runtime::Evaluation a = model.evaluate_batch(tight), b = model.evaluate_batch(padded);
  EXPECT_EQ(a.tokens, 10);
  EXPECT_NEAR(a.loss(), std::log(9.0), 0.1);
  EXPECT_NEAR(a.loss_sum, b.loss_sum, 1e-12);
  const double loss = model.train_step(tight);
  std::vector<double> grads;
  for (const auto& e : model.params().entries())
    for (int64_t i = 0; i < e.shape.numel(); ++i) grads.push_back(model.params().grad(e.name).ptr<double>()[i]);
  EXPECT_NEAR(model.train_step(padded), loss, 1e-12);
  size_t at = 0;
  for (const auto& e : model.params().entries())
    for (int64_t i = 0; i < e.shape.numel(); ++i)
      ASSERT_NEAR(model.params().grad(e.name).ptr<double>()[i], grads[at++], 1e-12) << e.name << "[" << i << "]";
}

TEST(LmModel, LossFallsUnderAdamOnATinyText) {
  for (bool tied : {false, true}) {
    SCOPED_TRACE(tied ? "tied" : "untied");
    LanguageModel model(small_config(tied, DType::F32), synthetic_vocab(9));
    model.init_parameters(5);
    auto adam = optim::make_optimizer({.kind = "adam"}, model.params());
    const LmBatch batch = small_batch(8);
    const double first = model.evaluate_batch(batch).loss();
    for (int step = 0; step < 100; ++step) {
      model.train_step(batch);
      adam->step(model.params(), 0.05);
    }
    const double last = model.evaluate_batch(batch).loss();
    EXPECT_LT(last, 0.3 * first) << "loss " << first << " -> " << last;
  }
}

// Losses of two steps of a dropout model with this seed.
std::vector<double> dropout_losses(uint64_t seed) {
  LmConfig c = small_config(false, DType::F32);
  c.dropout = 0.5;
  c.seed = seed;
  LanguageModel model(c, synthetic_vocab(9));
  model.init_parameters(1);
  const LmBatch batch = small_batch(8);
  return {model.train_step(batch), model.train_step(batch), model.evaluate_batch(batch).loss()};
}

TEST(LmModel, DropoutMasksFollowTheSeedAndTheStep) {
  const std::vector<double> a = dropout_losses(7), b = dropout_losses(7), c = dropout_losses(8);
  EXPECT_EQ(a, b);  // bit for bit
  EXPECT_NE(a[0], a[1]) << "the second step drew the same masks";
  EXPECT_NE(a[0], c[0]) << "another seed drew the same masks";
  EXPECT_EQ(a[2], c[2]) << "evaluation has no dropout";
}

// A tied model's embedding.weight gradient is the untied model's
// embedding.weight gradient plus its out.weight gradient, when out.weight
// holds the same values.
TEST(LmModel, TiedWeightsAreOneParameterWhoseGradientSumsBothUses) {
  LanguageModel tied(small_config(true), synthetic_vocab(9));
  tied.init_parameters(11);
  LmConfig untied_config = small_config(true);
  untied_config.tie_weights = false;
  LanguageModel untied(untied_config, synthetic_vocab(9));
  for (const auto& e : tied.params().entries()) {
    TensorRef from = tied.params().value(e.name), to = untied.params().value(e.name);
    std::copy(from.ptr<double>(), from.ptr<double>() + e.shape.numel(), to.ptr<double>());
  }
  TensorRef table = tied.params().value("embedding.weight");
  std::copy(table.ptr<double>(), table.ptr<double>() + table.numel(), untied.params().value("out.weight").ptr<double>());

  const LmBatch batch = small_batch();
  EXPECT_NEAR(tied.train_step(batch), untied.train_step(batch), 1e-13);
  const TensorRef sum = tied.params().grad("embedding.weight");
  const TensorRef as_input = untied.params().grad("embedding.weight"), as_output = untied.params().grad("out.weight");
  double output_part = 0;
  for (int64_t i = 0; i < sum.numel(); ++i) {
    ASSERT_NEAR(sum.ptr<double>()[i], as_input.ptr<double>()[i] + as_output.ptr<double>()[i], 1e-13) << i;
    output_part += std::fabs(as_output.ptr<double>()[i]);
  }
  EXPECT_GT(output_part, 1e-3);  // both uses contribute
  EXPECT_NEAR(tied.params().grad("out.bias").ptr<double>()[4], untied.params().grad("out.bias").ptr<double>()[4], 1e-13);
}

// metrics() reads nothing of the data: a language model generates nothing to score.
struct NoData : runtime::Dataset {
  int64_t examples() const override { return 0; }
  std::vector<std::vector<int64_t>> epoch_plan(uint64_t) const override { return {}; }
  std::vector<std::vector<int64_t>> evaluation_plan() const override { return {}; }
  std::unique_ptr<runtime::Batch> make_batch(std::span<const int64_t>) const override { return nullptr; }
  std::string describe() const override { return "no data"; }
};

TEST(LmModel, CharModelsReportBitsPerCharacter) {
  LmConfig c = small_config();
  c.unit = Unit::Char;
  LanguageModel chars(c, synthetic_vocab(9));
  LanguageModel words(small_config(), synthetic_vocab(9));
  runtime::Evaluation totals{std::log(2.0) * 30, 20, {}};
  const std::vector<runtime::Metric> m = chars.metrics(totals, NoData(), false);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].name, "bpc");
  EXPECT_NEAR(m[0].value, 1.5, 1e-12);
  EXPECT_EQ(m[0].text, "bpc 1.500");
  EXPECT_EQ(chars.logged_metrics(), std::vector<std::string>{"bpc"});
  EXPECT_TRUE(words.logged_metrics().empty());
}

}  // namespace
}  // namespace loom::models::lm
