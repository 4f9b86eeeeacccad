// The encoder-decoder (models/seq2seq.*): parameter names and shapes exactly
// as docs/MODEL.md fixes them; loss at init near log(Vt); padding never changes a
// loss or a gradient; f64 gradient checks of the whole model for every
// attention layer; the gradients train_step_gradients writes into the store
// against finite differences; the toy corpus trains with Adam; same seed ->
// bitwise same losses; a warm step allocates nothing (this file counts
// allocations with tests/support/alloc_counter, as test_executor does).
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>

#include "examples/tanh_general_attention.hpp"
#include "graph/errors.hpp"
#include "models/seq2seq/attention.hpp"
#include "models/seq2seq/seq2seq.hpp"
#include "optim/optimizer.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/op_test.hpp"
#include "tests/support/toy_corpus.hpp"


namespace loom {
namespace {

using models::seq2seq::Seq2Seq;
using models::seq2seq::Seq2SeqConfig;

// ---- helpers ------------------------------------------------------------------------------------

// A batch from explicit pairs (ids without reserved tokens), padded to at
// least min_S / min_T, built by the project's batcher.
models::seq2seq::Batch make_batch(const std::vector<text::EncodedPair>& pairs, int64_t min_S = 0, int64_t min_T = 0) {
  std::vector<int64_t> rows;
  for (size_t i = 0; i < pairs.size(); ++i) rows.push_back(int64_t(i));
  models::seq2seq::Batch b = models::seq2seq::Batcher(pairs, {}).make_batch(rows);
  const int64_t B = b.source.shape()[0], S = b.source.shape()[1], T = b.target_input.shape()[1];
  const int64_t S2 = std::max(S, min_S), T2 = std::max(T, min_T);
  auto pad = [&](const Tensor& x, int64_t from, int64_t to) {
    Tensor y(DType::I32, {B, to});
    for (int64_t r = 0; r < B; ++r)
      for (int64_t c = 0; c < from; ++c) y.set(r * to + c, x.at(r * from + c));
    return y;
  };
  b.source = pad(b.source, S, S2);
  b.target_input = pad(b.target_input, T, T2);
  b.target_output = pad(b.target_output, T, T2);
  return b;
}

// Two pairs of different lengths over V=7 ids (4..6 are words).
std::vector<text::EncodedPair> tiny_pairs() { return {{{4, 5}, {6, 4}}, {{6}, {5}}}; }

Seq2SeqConfig tiny_config(const std::string& attention, DType dtype = DType::F64) {
  Seq2SeqConfig c;
  c.src_vocab = 7, c.tgt_vocab = 7, c.embed = 3, c.hidden = 4, c.layers = 1;
  c.attention = attention;
  c.dtype = dtype;
  return c;
}

// Every registered kind: the built-ins and whatever examples/ adds.
std::vector<std::string> all_attentions() {
  examples::register_tanh_general_attention();
  return models::seq2seq::attention_names();
}

using Toy = test::ToyCorpus;

// ---- parameters ---------------------------------------------------------------------------------

using NameShapes = std::vector<std::pair<std::string, Shape>>;

NameShapes expected_parameters(int64_t Vs, int64_t Vt, int64_t E, int64_t H, int64_t L, const NameShapes& attention,
                               bool context) {
  NameShapes p{{"src_embedding.weight", {Vs, E}}, {"tgt_embedding.weight", {Vt, E}}};
  for (std::string side : {"encoder", "decoder"})
    for (int64_t k = 0; k < L; ++k) {
      std::string l = std::to_string(k);
      p.push_back({side + ".weight_ih_l" + l, {4 * H, k == 0 ? E : H}});
      p.push_back({side + ".weight_hh_l" + l, {4 * H, H}});
      p.push_back({side + ".bias_ih_l" + l, {4 * H}});
      p.push_back({side + ".bias_hh_l" + l, {4 * H}});
    }
  p.insert(p.end(), attention.begin(), attention.end());
  p.push_back({"out.weight", {Vt, context ? 2 * H : H}});
  p.push_back({"out.bias", {Vt}});
  return p;
}

TEST(Seq2Seq, ParameterNamesAndShapesAreExactlyModelMd) {
  const int64_t Vs = 11, Vt = 13, E = 5, H = 6;
  const std::map<std::string, NameShapes> attention_params{
      {"none", {}}, {"dot", {}}, {"cosine", {}}, {"general", {{"attention.weight", {H, H}}}},
      {"additive", {{"attention.w_query", {H, H}}, {"attention.w_key", {H, H}}, {"attention.v", {H}}}}};
  for (int64_t L : {1, 2})
    for (const auto& [name, att] : attention_params) {
      Seq2SeqConfig c;
      c.src_vocab = Vs, c.tgt_vocab = Vt, c.embed = E, c.hidden = H, c.layers = L, c.attention = name;
      Seq2Seq model(c);
      NameShapes got;
      for (const auto& e : model.params().entries()) got.push_back({e.name, e.shape});
      NameShapes want = expected_parameters(Vs, Vt, E, H, L, att, name != "none");
      ASSERT_EQ(got.size(), want.size()) << name << " L=" << L;
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got[i].first, want[i].first) << name << " L=" << L;
        EXPECT_EQ(got[i].second, want[i].second) << got[i].first << " " << got[i].second.str();
      }
    }
}

TEST(Seq2Seq, BadConfigIsRefused) {
  Seq2SeqConfig c = tiny_config("dot");
  c.attention = "nope";
  EXPECT_THROW(Seq2Seq{c}, std::invalid_argument);
  c = tiny_config("dot");
  c.tgt_vocab = 3;
  EXPECT_THROW(Seq2Seq{c}, std::invalid_argument);
  c = tiny_config("dot");
  c.dropout = 1.0;
  EXPECT_THROW(Seq2Seq{c}, std::invalid_argument);
}

TEST(Seq2Seq, InitIsDeterministicAndSmall) {
  Seq2Seq a(tiny_config("general", DType::F32)), b(tiny_config("general", DType::F32));
  a.init_parameters(5);
  b.init_parameters(5);
  const int64_t n = a.params().numel();
  const float* va = static_cast<const float*>(a.params().values_data());
  EXPECT_EQ(std::memcmp(va, b.params().values_data(), size_t(n) * 4), 0);
  double largest = 0;
  for (int64_t i = 0; i < n; ++i) largest = std::max(largest, double(std::abs(va[i])));
  EXPECT_LE(largest, 0.1);
  EXPECT_GT(largest, 0.05);
}

// ---- loss ---------------------------------------------------------------------------------------

TEST(Seq2Seq, LossAtInitIsNearLogVocabulary) {
  for (std::string att : {"none", "dot", "additive"}) {
    Seq2SeqConfig c;
    c.src_vocab = 40, c.tgt_vocab = 60, c.embed = 16, c.hidden = 32, c.attention = att;
    Seq2Seq model(c);
    model.init_parameters(1);
    models::seq2seq::Batch batch = make_batch({{{4, 9, 20}, {7, 8}}, {{5}, {30, 31, 32, 33}}, {{6, 7, 8, 9, 10}, {40}}});
    double loss = model.train_step_gradients(batch);
    EXPECT_NEAR(loss, std::log(60.0), 0.05) << att;
    models::seq2seq::EvalResult r = model.evaluate_batch(batch);
    EXPECT_EQ(r.tokens, batch.target_tokens);
    EXPECT_NEAR(r.loss(), loss, 1e-5) << att;
  }
}

// The same pairs with extra padding on both sides: the same loss and the same gradients.
void expect_padding_invariance(DType dtype, double tol) {
  for (const std::string& att : all_attentions()) {
    Seq2SeqConfig c = tiny_config(att, dtype);
    c.layers = 2;
    Seq2Seq model(c);
    model.init_parameters(3);
    ParameterStore& p = model.params();
    const size_t bytes = size_t(p.numel()) * dtype_size(dtype);
    double loss = model.train_step_gradients(make_batch(tiny_pairs()));
    Tensor g1(dtype, {p.numel()});
    std::memcpy(g1.raw(), p.grads_data(), bytes);
    double padded = model.train_step_gradients(make_batch(tiny_pairs(), 6, 7));
    Tensor g2(dtype, {p.numel()});
    std::memcpy(g2.raw(), p.grads_data(), bytes);
    EXPECT_NEAR(padded, loss, tol) << att;
    EXPECT_LT(test::max_abs_diff(g2, g1), tol) << att;
    double norm = 0;
    for (int64_t i = 0; i < g1.numel(); ++i) norm += g1.at(i) * g1.at(i);
    EXPECT_GT(norm, 1e-6) << att;  // the gradients are not trivially zero
  }
}

TEST(Seq2Seq, PaddingChangesNoLossOrGradientF64) { expect_padding_invariance(DType::F64, 1e-13); }
TEST(Seq2Seq, PaddingChangesNoLossOrGradientF32) { expect_padding_invariance(DType::F32, 2e-6); }

// ---- gradients ----------------------------------------------------------------------------------

// The whole model as one f64 OpExample: every parameter an input, the loss
// the output (V=7, E=3, H=4, B=2, S=3, T=3, rows of different lengths).
void expect_model_gradcheck(const Seq2SeqConfig& config) {
  Seq2Seq model(config);
  models::seq2seq::Batch batch = make_batch(tiny_pairs());
  ASSERT_EQ(batch.source.shape(), (Shape{2, 3}));
  ASSERT_EQ(batch.target_input.shape(), (Shape{2, 3}));
  OpExample ex;
  models::seq2seq::BatchInputs in;
  std::map<std::string, Var> vars;
  for (auto& [name, t] : models::seq2seq::batch_feeds(batch, DType::F64)) vars[name] = ex.fixed_input(name, t);
  in = {vars["source"], vars["source_lengths"], vars["source_mask"], vars["target_input"], vars["target_output"],
        vars["target_lengths"]};
  std::map<std::string, Var> params;
  runtime::ParameterSource source = [&](const std::string& name, const Shape& shape) {
    auto it = params.find(name);
    if (it != params.end()) return it->second;
    return params[name] = ex.random_input(name, shape, -0.5, 0.5);
  };
  runtime::DropoutSites none;
  ex.outputs = {model.build_forward(in, source, none, config.label_smoothing).loss};
  ex.tolerance = 1e-6;
  EXPECT_EQ(params.size(), model.params().entries().size()) << config.attention;
  GradCheckResult r = check_gradients(ex, {.max_elements_per_input = 40});
  EXPECT_TRUE(r.ok) << config.attention << " L=" << config.layers << ": " << r.str();
}

TEST(Seq2Seq, WholeModelGradcheckEveryAttention) {
  for (const std::string& att : all_attentions()) expect_model_gradcheck(tiny_config(att));
}

TEST(Seq2Seq, WholeModelGradcheckTwoLayersWithLabelSmoothing) {
  Seq2SeqConfig c = tiny_config("additive");
  c.layers = 2;
  c.label_smoothing = 0.1;
  expect_model_gradcheck(c);
}

// What train_step_gradients leaves in params().grad() is d loss / d param,
// checked by central differences of evaluate_batch's loss (both biases of
// each LSTM layer included: they share one gradient value in the graph).
TEST(Seq2Seq, StoredGradientsMatchFiniteDifferences) {
  for (std::string att : {"dot", "general"}) {
    Seq2SeqConfig c = tiny_config(att);
    c.layers = 2;
    Seq2Seq model(c);
    model.init_parameters(9);
    models::seq2seq::Batch batch = make_batch(tiny_pairs());
    model.train_step_gradients(batch);
    ParameterStore& p = model.params();
    for (const auto& entry : p.entries()) {
      double* value = p.value(entry.name).ptr<double>();
      const double* grad = p.grad(entry.name).ptr<double>();
      const int64_t n = entry.shape.numel();
      for (int64_t i = 0; i < n; i += std::max<int64_t>(1, n / 5)) {
        const double orig = value[i], eps = 1e-6;
        value[i] = orig + eps;
        double plus = model.evaluate_batch(batch).loss();
        value[i] = orig - eps;
        double minus = model.evaluate_batch(batch).loss();
        value[i] = orig;
        EXPECT_NEAR(grad[i], (plus - minus) / (2 * eps), 1e-7) << att << " " << entry.name << "[" << i << "]";
      }
    }
  }
}

// ---- training -----------------------------------------------------------------------------------

std::vector<double> train_toy(const Seq2SeqConfig& config, int steps, uint64_t seed) {
  Toy toy = test::load_toy_corpus();
  Seq2Seq model(config);
  model.init_parameters(seed);
  auto adam = optim::make_optimizer({.kind = "adam"}, model.params());
  models::seq2seq::Batcher batcher(toy.pairs, {.batch_size = 8, .bucket_width = 2, .seed = seed});
  std::vector<double> losses;
  for (uint64_t epoch = 0; int(losses.size()) < steps; ++epoch)
    for (const models::seq2seq::Batch& b : batcher.epoch(epoch)) {
      if (int(losses.size()) == steps) break;
      losses.push_back(model.train_step_gradients(b));
      optim::clip_grad_norm(model.params(), 5.0);
      adam->step(model.params(), 0.02);
    }
  return losses;
}

Seq2SeqConfig toy_config(const std::string& attention, double dropout = 0.0) {
  Toy toy = test::load_toy_corpus();
  Seq2SeqConfig c;
  c.src_vocab = toy.source_vocab.size(), c.tgt_vocab = toy.target_vocab.size();
  c.embed = 16, c.hidden = 32, c.attention = attention, c.dropout = dropout;
  return c;
}

TEST(Seq2Seq, ToyCorpusTrainsWithAdam) {
  for (std::string att : {"dot", "additive"}) {
    std::vector<double> losses = train_toy(toy_config(att), 80, 1);
    double first = (losses[0] + losses[1] + losses[2]) / 3, last = (losses[77] + losses[78] + losses[79]) / 3;
    EXPECT_LT(last, 0.25 * first) << att << ": " << first << " -> " << last;
  }
}

TEST(Seq2Seq, SameSeedGivesBitwiseSameLosses) {
  Seq2SeqConfig c = toy_config("dot", /*dropout=*/0.2);
  c.label_smoothing = 0.1;
  std::vector<double> a = train_toy(c, 12, 4), b = train_toy(c, 12, 4);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i;
  c.seed = 5;  // another dropout seed draws other masks
  std::vector<double> other = train_toy(c, 12, 4);
  EXPECT_NE(other[0], a[0]);
}

TEST(Seq2Seq, DropoutOnlyInTraining) {
  Seq2SeqConfig c = tiny_config("dot", DType::F32);
  c.dropout = 0.5;
  Seq2Seq model(c);
  model.init_parameters(2);
  models::seq2seq::Batch batch = make_batch(tiny_pairs());
  double t1 = model.train_step_gradients(batch), t2 = model.train_step_gradients(batch);
  EXPECT_NE(t1, t2);  // a fresh mask every run
  EXPECT_EQ(model.evaluate_batch(batch).loss_sum, model.evaluate_batch(batch).loss_sum);
}

// ---- plans --------------------------------------------------------------------------------------

// In f64, where every kernel is Loom's own: oneDNN 2.6's dnnl_primitive_execute
// builds an argument map on every call, so f32 steps allocate inside libdnnl.
TEST(Seq2Seq, OnePlanPerShapeAndWarmStepsAllocateNothing) {
  Toy toy = test::load_toy_corpus();
  Seq2SeqConfig c = toy_config("additive", 0.1);
  c.dtype = DType::F64;
  c.layers = 2;
  Seq2Seq model(c);
  model.init_parameters(1);
  models::seq2seq::Batcher batcher(toy.pairs, {.batch_size = 4, .bucket_width = 1, .seed = 3});
  std::vector<models::seq2seq::Batch> batches = batcher.epoch(0);
  auto adam = optim::make_optimizer({.kind = "adam"}, model.params());
  // Warm every shape, twice: the plans share their transient memory, which
  // grows when a larger plan arrives, and the plans made before it bind
  // again (allocating) on their next run.
  for (int pass = 0; pass < 2; ++pass)
    for (const models::seq2seq::Batch& b : batches) model.train_step_gradients(b);
  size_t plans = model.cached_plans();
  long allocations = test::allocations_during([&] {
    for (const models::seq2seq::Batch& b : batches) {
      model.train_step_gradients(b);
      optim::clip_grad_norm(model.params(), 1.0);
      adam->step(model.params(), 0.01);
    }
  });
  EXPECT_EQ(allocations, 0);
  EXPECT_EQ(model.cached_plans(), plans);
  EXPECT_GE(plans, 2u);
}

}  // namespace
}  // namespace loom
