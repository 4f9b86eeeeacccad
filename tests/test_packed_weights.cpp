// Packed parameter weights (CompileOptions::pack_parameter_weights, used by
// the decoding step plans): a plan's packed product equals the naive one and
// is refreshed exactly when the parameter store's values_version changes
// (every write access bumps it: value(), values_data(), declare, init, an
// optimiser step, a load) and never by a read (read_value(), read_values_data(),
// nonfinite(), saving a model or a checkpoint, binding a new plan); unpacked
// and f64 plans read the store directly; a Decoder whose model was trained
// further, or loaded from a file, decodes as a fresh Decoder does, bit for
// bit; decoding steps allocate nothing outside oneDNN once warm.
#include <gtest/gtest.h>

#include <cmath>

#include "io/checkpoint.hpp"
#include "io/parameter_io.hpp"
#include "io/training_state.hpp"
#include "models/seq2seq/decode.hpp"
#include "ops/ops.hpp"
#include "optim/optimizer.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/checkpoint_files.hpp"
#include "tests/support/naive_gemm.hpp"
#include "tests/support/op_test.hpp"
#include "tests/support/toy_corpus.hpp"

namespace loom {
namespace {

constexpr int64_t kM = 1, kK = 40, kN = 70;

// Writes scale·sin(i+1) into w and returns the values as stored.
template <class T>
std::vector<double> fill(T* w, double scale) {
  std::vector<double> v(size_t(kN * kK));
  for (size_t i = 0; i < v.size(); ++i) v[i] = double(w[i] = T(scale * std::sin(double(i) + 1.0)));
  return v;
}

// y = x·wᵀ with w a parameter (N,K), stored as a linear layer stores it.
struct LinearPlan {
  ParameterStore params;
  Tensor x;
  Graph g;
  CompileOptions options;
  Value y;
  std::unique_ptr<Executor> ex;

  LinearPlan(DType dtype, bool pack) : params(dtype), x(test::random_tensor(dtype, {kM, kK}, 5)) {
    Var xv = input(g, "x", {dtype, {kM, kK}});
    Var w = parameter(g, "w", {dtype, {kN, kK}});
    y = ops::matmul(xv, w, false, true).value;
    params.declare_all(g);
    options.pack_parameter_weights = pack;
    ex = another_executor();
    ex->set_input("x", x);
  }
  // The same plan compiled again and bound to the same store.
  std::unique_ptr<Executor> another_executor() { return std::make_unique<Executor>(compile(g, {y}, options), params); }
  // Runs the plan: the largest |y - x·wᵀ|.
  double error_against(const std::vector<double>& w) {
    ex->run();
    std::vector<double> a(size_t(kM * kK)), c(size_t(kM * kN));
    for (size_t i = 0; i < a.size(); ++i) a[i] = x.at(int64_t(i));
    test::naive_gemm({.m = kM, .n = kN, .k = kK, .trans_b = true}, a, w, c);
    Tensor y = ex->fetch(0);
    double err = 0;
    for (size_t i = 0; i < c.size(); ++i) err = std::max(err, std::abs(y.at(int64_t(i)) - c[i]));
    return err;
  }
};

TEST(PackedWeights, PlanRepacksAfterEveryWriteAccess) {
  LinearPlan lp(DType::F32, true);
  float* w = lp.params.value("w").ptr<float>();
  std::vector<double> w1 = fill(w, 1.0);
  EXPECT_LT(lp.error_against(w1), 1e-5);
  // Writing through the pointer of an earlier access is no new write: the
  // plan keeps its packed copy (which shows that it has one).
  std::vector<double> w2 = fill(w, -0.5);
  EXPECT_LT(lp.error_against(w1), 1e-5);
  EXPECT_GT(lp.error_against(w2), 1e-2);
  lp.params.value("w");
  EXPECT_LT(lp.error_against(w2), 1e-5);
  std::vector<double> w3 = fill(static_cast<float*>(lp.params.values_data()), 2.0);  // "w" is at offset 0
  EXPECT_LT(lp.error_against(w3), 1e-5);
}

// Every way of reading the values: none may count as a write.
void read_in_every_way(ParameterStore& p, const test::TempDir& dir) {
  (void)p.read_value(p.entries().front().name);
  (void)p.read_values_data();
  EXPECT_TRUE(p.nonfinite().empty());
  EXPECT_TRUE(p.nonfinite(true).empty());
  io::save_parameters(dir.file("parameters.safetensors"), p);
  io::save_checkpoint(dir.file("model.safetensors"), p, {});
  io::save_checkpoint_with_state(
      dir.file("last.safetensors"), [&](const std::string& path) { io::save_checkpoint(path, p, {}); }, {});
}

// Saving a checkpoint once bumped values_version (its non-finite check and
// its writer took write access), so every save threw the decoding plans'
// packed weights away.
TEST(PackedWeights, ReadingTheValuesIsNoWrite) {
  ParameterStore p;
  p.declare("a", {3, 5});
  p.declare("b", {7});
  std::mt19937_64 rng(1);
  p.fill_uniform(rng, 0.1);
  test::TempDir dir;
  const uint64_t before = p.values_version();
  read_in_every_way(p, dir);
  EXPECT_EQ(p.values_version(), before);
  EXPECT_EQ(p.read_value("b").ptr<float>(), p.value("b").ptr<float>()) << "both views show the same memory";
  EXPECT_NE(p.values_version(), before) << "value() is still a write";
  const uint64_t after_value = p.values_version();
  p.values_data();
  EXPECT_NE(p.values_version(), after_value) << "values_data() is still a write";
}

// The same seen from a packed plan: after reads and a newly bound plan it
// still multiplies by the copy packed before them (writing through an earlier
// pointer is no new write, so the plan has no reason to repack).
TEST(PackedWeights, PlanKeepsItsPackedCopyAcrossReads) {
  LinearPlan lp(DType::F32, true);
  float* w = lp.params.value("w").ptr<float>();
  std::vector<double> w1 = fill(w, 1.0);
  EXPECT_LT(lp.error_against(w1), 1e-5);
  std::vector<double> w2 = fill(w, -0.5);
  test::TempDir dir;
  read_in_every_way(lp.params, dir);
  std::unique_ptr<Executor> second = lp.another_executor();
  EXPECT_LT(lp.error_against(w1), 1e-5) << "a read made the plan repack";
  lp.params.value("w");
  EXPECT_LT(lp.error_against(w2), 1e-5);
}

TEST(PackedWeights, UnpackedAndF64PlansReadTheStoreDirectly) {
  LinearPlan f32(DType::F32, false), f64(DType::F64, true);
  float* w32 = f32.params.value("w").ptr<float>();
  double* w64 = f64.params.value("w").ptr<double>();
  EXPECT_LT(f32.error_against(fill(w32, 1.0)), 1e-5);
  EXPECT_LT(f64.error_against(fill(w64, 1.0)), 1e-12);
  EXPECT_LT(f32.error_against(fill(w32, -0.5)), 1e-5);
  EXPECT_LT(f64.error_against(fill(w64, -0.5)), 1e-12);
}

TEST(PackedWeights, ValuesVersionCountsEveryWriteAccess) {
  ParameterStore p;
  uint64_t v = p.values_version();
  auto bumped = [&] {
    bool changed = p.values_version() != v;
    v = p.values_version();
    return changed;
  };
  p.declare("a", {3, 5});
  EXPECT_TRUE(bumped()) << "declare";
  TensorRef a = p.value("a");
  EXPECT_TRUE(bumped()) << "value()";
  p.values_data();
  EXPECT_TRUE(bumped()) << "values_data()";
  std::mt19937_64 rng(1);
  p.fill_uniform(rng, 0.1);
  EXPECT_TRUE(bumped()) << "fill_uniform";
  TensorRef g = p.grad("a");
  g.ptr<float>()[0] = 1.0f;
  p.entry("a");
  EXPECT_FALSE(bumped()) << "grad() and entry() are not value writes";
  optim::make_optimizer({.kind = "sgd"}, p)->step(p, 0.1);
  EXPECT_TRUE(bumped()) << "an optimiser step";
  EXPECT_TRUE(p.holds_value(a.data));
  EXPECT_TRUE(p.holds_value(a.ptr<float>() + 14));
  EXPECT_FALSE(p.holds_value(g.data));
}

using models::seq2seq::Decoder;
using models::seq2seq::Seq2Seq;

std::unique_ptr<Seq2Seq> make_model(const test::ToyCorpus& toy, const std::string& attention) {
  models::seq2seq::Seq2SeqConfig c;
  c.src_vocab = toy.source_vocab.size(), c.tgt_vocab = toy.target_vocab.size();
  c.embed = 16, c.hidden = 32, c.layers = 2, c.attention = attention;
  auto model = std::make_unique<Seq2Seq>(c);
  model->init_parameters(1);
  return model;
}

void train(Seq2Seq& model, const test::ToyCorpus& toy, int steps) {
  auto adam = optim::make_optimizer({.kind = "adam"}, model.params());
  models::seq2seq::Batcher batcher(toy.pairs, {.batch_size = 32, .bucket_width = 100, .seed = 2});
  for (int step = 0; step < steps; ++step)
    for (const models::seq2seq::Batch& b : batcher.epoch(uint64_t(step))) {
      model.train_step_gradients(b);
      adam->step(model.params(), 0.02);
    }
}

// What a Decoder computes for one pair: teacher-forced log-probs, greedy and beam.
struct Decoded {
  Tensor forced;
  std::vector<int32_t> greedy, best_of_beam;
};
Decoded decode(Decoder& d, const text::EncodedPair& p) {
  return {d.forced_log_probs(p.source, p.target), d.greedy(p.source).tokens, d.beam_search(p.source, 3)[0].tokens};
}
void expect_same(const Decoded& x, const Decoded& y, const std::string& what) {
  ASSERT_EQ(x.forced.numel(), y.forced.numel()) << what;
  for (int64_t i = 0; i < x.forced.numel(); ++i) ASSERT_EQ(x.forced.at(i), y.forced.at(i)) << what << " i=" << i;
  EXPECT_EQ(x.greedy, y.greedy) << what;
  EXPECT_EQ(x.best_of_beam, y.best_of_beam) << what;
}
double largest_difference(const Tensor& x, const Tensor& y) {
  double d = 0;
  for (int64_t i = 0; i < x.numel(); ++i) d = std::max(d, std::abs(x.at(i) - y.at(i)));
  return d;
}

TEST(PackedWeights, DecoderFollowsTrainingAndLoads) {
  test::ToyCorpus toy = test::load_toy_corpus();
  for (const char* attention : {"dot", "none"}) {
    auto model = make_model(toy, attention);
    train(*model, toy, 3);
    test::TempDir dir;
    io::save_parameters(dir.file("a.safetensors"), model->params());
    Decoder decoder(*model);
    const text::EncodedPair& pair = toy.pairs[1];
    Decoded first = decode(decoder, pair);

    train(*model, toy, 3);
    Decoded trained = decode(decoder, pair);
    Decoder fresh(*model);
    expect_same(trained, decode(fresh, pair), std::string(attention) + ": after training");
    EXPECT_GT(largest_difference(first.forced, trained.forced), 1e-3) << "training changed nothing";

    io::load_parameters(dir.file("a.safetensors"), model->params());
    expect_same(decode(decoder, pair), first, std::string(attention) + ": after loading");
  }
}

// Steps past the first allocate only inside oneDNN: 10 more steps of a
// forced target allocate exactly what 10 runs of the bare step plan do (the
// argument lists that oneDNN 2.6 builds in every primitive execution; its
// public API has no way around them). Decoder and Executor add nothing.
TEST(PackedWeights, DecodingStepsAllocateOnlyInsideOneDnn) {
  test::ToyCorpus toy = test::load_toy_corpus();
  auto model = make_model(toy, "dot");
  Decoder decoder(*model);
  const std::vector<int32_t>& source = toy.pairs[0].source;
  std::vector<int32_t> longer;
  for (const text::EncodedPair& p : toy.pairs)
    for (int32_t token : p.target)
      if (longer.size() < 12) longer.push_back(token);
  const std::vector<int32_t> shorter(longer.begin(), longer.begin() + 2);
  decoder.forced_log_probs(source, longer);
  long few = test::allocations_during([&] { decoder.forced_log_probs(source, shorter); });
  long many = test::allocations_during([&] { decoder.forced_log_probs(source, longer); });

  const int64_t S = int64_t(source.size()) + 1, H = model->config().hidden;
  Executor step(models::seq2seq::compile_decoder_step_plan(*model, 1, S), model->params());
  step.set_input("prev_tokens", Tensor::from_i32({1}, std::vector<int32_t>{4}));
  step.set_input("encoder_outputs", test::random_tensor(DType::F32, {1, S, H}, 7));
  step.set_input("source_mask", Tensor::from_f32({1, 1, S}, std::vector<float>(size_t(S), 1.0f)));
  for (const char* state : {"h_l0", "c_l0", "h_l1", "c_l1"}) step.set_input(state, Tensor(DType::F32, {1, H}));
  step.run();
  long ten_runs = test::allocations_during([&] {
    for (int i = 0; i < 10; ++i) step.run();
  });
  EXPECT_EQ(many - few, ten_runs) << "the Decoder allocated in its steps";
}

}  // namespace
}  // namespace loom
