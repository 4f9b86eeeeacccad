// The memory estimate a training run checks before it allocates its model
// (train/memory_estimate.hpp): its activation term bounds what the planner
// lays out for the same training step, its parameter terms are exact, and the
// check refuses with both numbers; sizes parse as the option documents.
#include <gtest/gtest.h>

#include <string>

#include "graph/plan.hpp"
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

}  // namespace

TEST(MemoryEstimate, BoundsThePlannersArenasAndCountsParametersExactly) {
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
    size_t planned = 0;
    for (Arena a : {Arena::Transient, Arena::Input, Arena::Constant}) planned += plan.arena_bytes[size_t(a)];
    const MemoryEstimate e = estimate_training_memory(c.model, {.kind = "adam"}, c.B, c.S, c.T);
    EXPECT_GE(e.activations, planned) << c.model.attention << " B=" << c.B;
    uint64_t parameter_bytes = 0;
    for (const auto& entry : model.params().entries()) parameter_bytes += uint64_t(entry.shape.numel()) * 4;
    EXPECT_EQ(e.parameters, parameter_bytes);
    EXPECT_EQ(e.gradients, parameter_bytes);
    EXPECT_EQ(e.optimizer_state, 2 * parameter_bytes) << "Adam keeps two buffers";
  }
}

TEST(MemoryEstimate, TooBigIsRefusedWithBothNumbers) {
  const MemoryEstimate e = estimate_training_memory(config(100, 16, 32, 1, "dot"), {.kind = "adam"}, 8, 10, 10);
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
  // A config far past any machine is refused, not overflowed into a small number.
  const MemoryEstimate huge = estimate_training_memory(config(100000, 8192, 8192, 64, "additive"), {.kind = "adam"},
                                                       65536, 1024, 1024);
  EXPECT_GT(huge.total(), uint64_t(1) << 50);
  EXPECT_TRUE(available_memory_bytes().has_value()) << "Linux has /proc/meminfo";
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
