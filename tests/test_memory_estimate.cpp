// The memory estimate a training run checks before it starts
// (train/memory_estimate.hpp): its parameter terms are exact, a plan's
// figures are the planner's arenas and the LSTM scratch, the shared parts
// count once (the largest) and the own parts of every plan add up, the batch
// shapes are exactly those the model's data serves, and the check refuses with
// both numbers.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "graph/plan.hpp"
#include "models/seq2seq/translator.hpp"
#include "text/vocabulary.hpp"
#include "train/memory_estimate.hpp"

using namespace loom;
using namespace loom::models::seq2seq;
using namespace loom::io;
using namespace loom::train;

namespace {

Seq2SeqConfig config(int64_t vocab, int64_t embed, int64_t hidden, int64_t layers, const std::string& attention) {
  Seq2SeqConfig c;
  c.src_vocab = c.tgt_vocab = vocab;
  c.embed = embed;
  c.hidden = hidden;
  c.layers = layers;
  c.attention = attention;
  return c;
}

text::TokenizedCorpus toy_corpus() { return text::tokenize_pairs(text::read_tsv("data/toy.tsv"), "data/toy.tsv"); }

struct ToyRun {
  std::unique_ptr<Translator> model;
  std::unique_ptr<TranslationData> train, valid;
};

// A translator over data/toy.tsv's vocabularies and its batches.
ToyRun toy_run(const models::seq2seq::BatcherOptions& options) {
  const text::TokenizedCorpus corpus = toy_corpus();
  text::Vocabulary src = text::Vocabulary::build(corpus.sources, {}), tgt = text::Vocabulary::build(corpus.targets, {});
  Seq2SeqConfig c = config(0, 8, 16, 1, "dot");
  c.src_vocab = src.size(), c.tgt_vocab = tgt.size();
  ToyRun run;
  auto batcher = [&](models::seq2seq::BatcherOptions o) {
    return std::make_unique<models::seq2seq::Batcher>(text::encode_pairs(corpus, src, tgt), o);
  };
  models::seq2seq::BatcherOptions eval = options;
  eval.shuffle = false;
  eval.batch_size = 5;
  run.train = std::make_unique<TranslationData>("toy", corpus, batcher(options), 0);
  run.valid = std::make_unique<TranslationData>("toy", corpus, batcher(eval), 0);
  run.model = std::make_unique<Translator>(std::make_unique<Seq2Seq>(c), src, tgt);
  return run;
}

// The distinct shape keys of the batches `plans` cut from `data`.
std::set<std::string> served(const Translator& model, const runtime::Dataset& data,
                             const std::vector<std::vector<int64_t>>& plans) {
  std::set<std::string> keys;
  for (const auto& examples : plans) keys.insert(model.shape_key(*data.make_batch(examples)));
  return keys;
}

}  // namespace

TEST(MemoryEstimate, PlansAreThePlannersArenasAndParametersAreExact) {
  struct Case {
    Seq2SeqConfig model;
    int64_t B, S, T;
  };
  const Case cases[] = {{config(1000, 32, 64, 1, "dot"), 16, 12, 12},
                        {config(50, 128, 256, 3, "additive"), 4, 30, 40},
                        {config(3000, 8, 32, 1, "general"), 64, 5, 5},
                        {config(40, 16, 48, 2, "none"), 8, 24, 8}};
  for (const Case& c : cases) {
    Seq2Seq model(c.model);
    const Plan plan = model.training_plan(c.B, c.S, c.T);
    const PlanMemory m = plan_memory(plan);
    EXPECT_EQ(m.transient, plan.arena_bytes[size_t(Arena::Transient)]);
    EXPECT_GT(m.transient, 0u);
    EXPECT_EQ(m.own, plan.arena_bytes[size_t(Arena::Input)] + plan.arena_bytes[size_t(Arena::Constant)]);
    // The largest LSTM backward's scratch, B·len·(2·4H + H) floats, over the encoder (S) and decoder (T).
    EXPECT_EQ(m.scratch, uint64_t(4 * c.B * std::max(c.S, c.T) * 9 * c.model.hidden)) << c.model.attention;
    const MemoryEstimate e = estimate_parameter_memory(seq2seq_parameter_shapes(c.model), DType::F32, {.kind = "adam"});
    uint64_t parameter_bytes = 0;
    for (const auto& entry : model.params().entries()) parameter_bytes += uint64_t(entry.shape.numel()) * 4;
    EXPECT_EQ(e.parameters, parameter_bytes);
    EXPECT_EQ(e.gradients, parameter_bytes);
    EXPECT_EQ(e.optimizer_state, 2 * parameter_bytes) << "Adam keeps two buffers";
  }
}

TEST(MemoryEstimate, PlansAreThoseOfTheShapesTheDataServes) {
  ToyRun run = toy_run({.batch_size = 3, .bucket_width = 1, .seed = 7, .length_multiple = 2});
  std::set<std::string> training;
  for (uint64_t e = 0; e < 4; ++e) {
    std::set<std::string> epoch = served(*run.model, *run.train, run.train->epoch_plan(e));
    training.insert(epoch.begin(), epoch.end());
  }
  const std::set<std::string> validation = served(*run.model, *run.valid, run.valid->evaluation_plan());
  EXPECT_GT(training.size(), 2u) << "a corpus with several lengths and a partial batch";
  MemoryEstimate e;
  add_plan_memory(e, *run.model, {run.train.get(), run.valid.get(), 4, 0});
  EXPECT_EQ(e.plans, int64_t(training.size() + validation.size()));
  EXPECT_TRUE(training.count(e.largest)) << e.largest;
  MemoryEstimate one_step;
  add_plan_memory(one_step, *run.model, {run.train.get(), run.valid.get(), 4, 1});
  EXPECT_EQ(one_step.plans, int64_t(1 + validation.size())) << "one step compiles one training plan";
}

TEST(MemoryEstimate, SharedArenasCountOnceAndOwnArenasAddUp) {
  ToyRun run = toy_run({.batch_size = 4, .bucket_width = 1, .seed = 3, .length_multiple = 4});
  MemoryEstimate e;
  add_plan_memory(e, *run.model, {run.train.get(), run.valid.get(), 1, 0});
  uint64_t transient = 0, scratch = 0, own = 0;
  int64_t plans = 0;
  std::set<std::string> seen;
  for (const auto& examples : run.train->epoch_plan(0)) {
    auto batch = run.train->make_batch(examples);
    if (!seen.insert("t" + run.model->shape_key(*batch)).second) continue;
    const PlanMemory m = plan_memory(run.model->training_plan(*batch));
    transient = std::max(transient, m.transient), scratch = std::max(scratch, m.scratch), own += m.own, ++plans;
  }
  for (const auto& examples : run.valid->evaluation_plan()) {
    auto batch = run.valid->make_batch(examples);
    if (!seen.insert("v" + run.model->shape_key(*batch)).second) continue;
    const PlanMemory m = plan_memory(run.model->evaluation_plan(*batch));
    transient = std::max(transient, m.transient), scratch = std::max(scratch, m.scratch), own += m.own, ++plans;
  }
  EXPECT_EQ(e.transient, transient) << "one arena, as large as the largest";
  EXPECT_EQ(e.scratch, scratch);
  EXPECT_EQ(e.plan_inputs, own) << "each plan's own arenas";
  EXPECT_EQ(e.plans, plans);
  EXPECT_NE(e.describe().find(std::to_string(plans) + " plans: transient arena"), std::string::npos) << e.describe();
}

TEST(MemoryEstimate, TooBigIsRefusedWithBothNumbers) {
  MemoryEstimate e =
      estimate_parameter_memory(seq2seq_parameter_shapes(config(100, 16, 32, 1, "dot")), DType::F32, {.kind = "adam"});
  e.transient = 1 << 20;
  EXPECT_NO_THROW(check_memory(e, 0, std::nullopt));
  EXPECT_NO_THROW(check_memory(e, e.total(), e.total()));
  try {
    check_memory(e, 1024, std::nullopt);
    FAIL() << "expected InsufficientMemory";
  } catch (const InsufficientMemory& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("about " + format_memory_size(e.total())), std::string::npos) << what;
    EXPECT_NE(what.find("more than --max-memory 1.0 KB"), std::string::npos) << what;
  }
  try {
    check_memory(e, 0, e.total() - 1);
    FAIL() << "expected InsufficientMemory";
  } catch (const InsufficientMemory& error) {
    EXPECT_NE(std::string(error.what()).find("MemAvailable"), std::string::npos) << error.what();
  }
  // A config far past any machine is refused on its exact terms, not overflowed into a small number.
  const MemoryEstimate huge = estimate_parameter_memory(seq2seq_parameter_shapes(config(100000, 8192, 8192, 64, "additive")),
                                                        DType::F32, {.kind = "adam"});
  EXPECT_GT(huge.total(), uint64_t(1) << 38);
  EXPECT_TRUE(available_memory_bytes().has_value()) << "Linux has /proc/meminfo";
  EXPECT_GT(resident_memory_bytes(), 0u) << "Linux has /proc/self/statm";
}

TEST(MemoryEstimate, SizesParseAndPrint) {
  EXPECT_EQ(parse_memory_size("1000"), 1000u);
  EXPECT_EQ(parse_memory_size("64K"), 64u * 1024);
  EXPECT_EQ(parse_memory_size("512M"), 512u * 1024 * 1024);
  EXPECT_EQ(parse_memory_size("2G"), 2ull << 30);
  EXPECT_EQ(parse_memory_size("1.5g"), 3ull << 29);
  EXPECT_EQ(parse_memory_size("2GB"), 2ull << 30);
  for (const char* bad : {"", "G", "2X", "-1G", "0", "nan", "1e30G", "2 G"})
    EXPECT_THROW(parse_memory_size(bad), std::invalid_argument) << bad;
  EXPECT_EQ(format_memory_size(900), "900 B");
  EXPECT_EQ(format_memory_size(3ull << 29), "1.5 GB");
}
