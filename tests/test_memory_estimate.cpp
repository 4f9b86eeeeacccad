// The memory estimate a training run checks before it starts
// (train/memory_estimate.hpp): its parameter terms are exact, a plan's
// figures are the planner's arenas and the LSTM scratch, the shared parts
// count once (the largest) and the own parts of every plan add up, the batch
// shapes are exactly those the batcher serves, and the check refuses with
// both numbers.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "graph/plan.hpp"
#include "models/seq2seq/batcher.hpp"
#include "text/vocabulary.hpp"
#include "train/memory_estimate.hpp"

using namespace loom;
using namespace loom::models;

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

// The shapes of the batches a real batcher serves over `epochs` epochs.
std::set<BatchShape> served_shapes(const text::TokenizedCorpus& corpus, const text::BatcherOptions& options,
                                   int64_t epochs) {
  text::Vocabulary src = text::Vocabulary::build(corpus.sources, {}), tgt = text::Vocabulary::build(corpus.targets, {});
  text::Batcher batcher(text::encode_pairs(corpus, src, tgt), options);
  std::set<BatchShape> shapes;
  for (int64_t e = 0; e < epochs; ++e)
    for (const text::Batch& b : batcher.epoch(uint64_t(e)))
      shapes.insert({b.source.shape()[0], b.source.shape()[1], b.target_input.shape()[1]});
  return shapes;
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
    const MemoryEstimate e = estimate_parameter_memory(c.model, {.kind = "adam"});
    uint64_t parameter_bytes = 0;
    for (const auto& entry : model.params().entries()) parameter_bytes += uint64_t(entry.shape.numel()) * 4;
    EXPECT_EQ(e.parameters, parameter_bytes);
    EXPECT_EQ(e.gradients, parameter_bytes);
    EXPECT_EQ(e.optimizer_state, 2 * parameter_bytes) << "Adam keeps two buffers";
  }
}

TEST(MemoryEstimate, ShapesAreThoseTheBatcherServes) {
  const text::TokenizedCorpus corpus = toy_corpus();
  TrainOptions o;
  o.batch_size = 3;
  o.bucket_width = 1;
  o.length_multiple = 2;
  o.epochs = 4;
  const std::vector<BatchShape> estimated = training_shapes(o, 7, corpus);
  const std::set<BatchShape> served = served_shapes(
      corpus, {.batch_size = 3, .bucket_width = 1, .seed = 7, .length_multiple = 2}, o.epochs);
  EXPECT_EQ(std::set<BatchShape>(estimated.begin(), estimated.end()), served);
  EXPECT_GT(served.size(), 2u) << "a corpus with several lengths and a partial batch";
  o.max_steps = 1;
  EXPECT_EQ(training_shapes(o, 7, corpus).size(), 1u) << "one step compiles one plan";
  const std::vector<BatchShape> valid = validation_shapes(o, corpus);
  EXPECT_EQ(std::set<BatchShape>(valid.begin(), valid.end()),
            served_shapes(corpus, {.batch_size = kValidationBatch, .shuffle = false, .length_multiple = 2}, 1));
}

TEST(MemoryEstimate, SharedArenasCountOnceAndOwnArenasAddUp) {
  const Seq2SeqConfig model = config(60, 16, 32, 1, "dot");
  const std::vector<BatchShape> training{{4, 8, 10}, {2, 12, 6}}, validation{{6, 12, 12}};
  MemoryEstimate e = estimate_parameter_memory(model, {.kind = "sgd"});
  add_plan_memory(e, model, training, validation);
  Seq2Seq m(model);
  const PlanMemory a = plan_memory(m.training_plan(4, 8, 10)), b = plan_memory(m.training_plan(2, 12, 6)),
                   v = plan_memory(m.evaluation_plan(6, 12, 12));
  EXPECT_EQ(e.transient, std::max({a.transient, b.transient, v.transient})) << "one arena, as large as the largest";
  EXPECT_EQ(e.scratch, std::max({a.scratch, b.scratch, v.scratch}));
  EXPECT_EQ(e.plan_inputs, a.own + b.own + v.own) << "each plan's own arenas";
  EXPECT_EQ(e.plans, 3);
  EXPECT_EQ(e.largest, (a.transient >= b.transient ? BatchShape{4, 8, 10} : BatchShape{2, 12, 6}));
  EXPECT_NE(e.describe().find("3 plans: transient arena"), std::string::npos) << e.describe();
}

TEST(MemoryEstimate, TooBigIsRefusedWithBothNumbers) {
  MemoryEstimate e = estimate_parameter_memory(config(100, 16, 32, 1, "dot"), {.kind = "adam"});
  add_plan_memory(e, config(100, 16, 32, 1, "dot"), {{8, 10, 10}}, {});
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
  const MemoryEstimate huge = estimate_parameter_memory(config(100000, 8192, 8192, 64, "additive"), {.kind = "adam"});
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
