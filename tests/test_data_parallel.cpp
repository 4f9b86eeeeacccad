// The pieces of data-parallel training that one process can check: the
// executor's call as each output becomes final, the gradient buckets
// (dist/gradient_reducer), and how a batch is shared among ranks. Two real
// ranks are checked by tests/scripts/check_mpi_*.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "distributed/gradient_reducer.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"
#include "models/seq2seq/translator.hpp"
#include "train/data_parallel.hpp"

namespace loom {
namespace {

// Runs y = tanh(a), z = a·b (or y·b) and the parameter w twice, all
// delivered into caller memory, and records the order of the announcements
// and whether z was already written when y was first announced.
struct Announcements {
  std::vector<std::string> order;
  bool z_written_when_y_ready = false;
  float w_when_ready = 0;
};

Announcements run_twice(bool z_reads_y) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {3, 4}});
  Var b = input(g, "b", {DType::F32, {4, 2}});
  Var w = parameter(g, "w", {DType::F32, {2}});
  Var y = ops::tanh(a);
  Var z = ops::matmul(z_reads_y ? y : a, b);
  ParameterStore params;
  params.declare_all(g);
  Tensor y_out(DType::F32, {3, 4}), z_out(DType::F32, {3, 2}), w_out(DType::F32, {2});
  Announcements seen;
  const std::vector<std::string> names{"y", "z", "w"};
  ExecutorOptions options;
  options.output_targets = {{"y", y_out.ref()}, {"z", z_out.ref()}, {"w", w_out.ref()}};
  options.on_output_ready = [&](size_t output) {
    seen.order.push_back(names.at(output));
    if (output == 0 && seen.order.size() == 1) seen.z_written_when_y_ready = z_out.at(0) != 0.0;
    if (output == 2) seen.w_when_ready = float(w_out.at(1));
  };
  Executor ex(compile(g, std::vector<NamedValue>{{"y", y.value}, {"z", z.value}, {"w", w.value}}), params, options);
  ex.set_input("a", test::random_tensor(DType::F32, {3, 4}, 1));
  ex.set_input("b", test::random_tensor(DType::F32, {4, 2}, 2));
  params.value("w").ptr<float>()[1] = 5;
  ex.run();
  ex.run();
  return seen;
}

// y is final after its own step, before z is computed; the parameter w only
// once the run has copied it. Each is announced once per run.
TEST(OutputReady, EachOutputIsAnnouncedOnceAsSoonAsItIsFinal) {
  Announcements seen = run_twice(false);
  EXPECT_EQ(seen.order, (std::vector<std::string>{"y", "z", "w", "y", "z", "w"}));
  EXPECT_FALSE(seen.z_written_when_y_ready);
  EXPECT_EQ(seen.w_when_ready, 5.0f);
}

// A caller may change an announced output in place (a sum over ranks), so an
// output that a later step reads is announced only after that step.
TEST(OutputReady, AnOutputReadByALaterStepIsAnnouncedAfterIt) {
  Announcements seen = run_twice(true);
  EXPECT_TRUE(seen.z_written_when_y_ready);
  EXPECT_EQ(seen.order.size(), 6u);
}

// Three parameters of 16, 32 and 64 floats; buckets of 128 bytes.
struct ThreeParameters {
  ParameterStore params;
  ThreeParameters() {
    params.declare("first", Shape{16});
    params.declare("second", Shape{32});
    params.declare("third", Shape{64});
  }
  float* grads() { return static_cast<float*>(params.grads_data()); }
};

TEST(GradientReducer, BucketsHoldWholeParametersFromTheLastDeclared) {
  ThreeParameters t;
  distributed::World one;
  // third (256 bytes) fills a bucket; second (128) fills the next; first is left.
  EXPECT_EQ(distributed::GradientReducer(one, t.params, 128).buckets(), 3u);
  EXPECT_EQ(distributed::GradientReducer(one, t.params, 512).buckets(), 1u);
  EXPECT_EQ(distributed::GradientReducer(one, t.params, 300).buckets(), 2u);
}

// Every element is weighted exactly once, whatever order the gradients come
// in, and finish_step weights what never came.
TEST(GradientReducer, WeightsEveryGradientOnce) {
  ThreeParameters t;
  distributed::World one;
  distributed::GradientReducer reducer(one, t.params, 128);
  std::fill(t.grads(), t.grads() + t.params.numel(), 2.0f);
  reducer.begin_step(0.25);
  reducer.gradient_ready(0);  // its bucket starts last, so it waits for the others
  reducer.gradient_ready(2);
  reducer.gradient_ready(2);  // told twice: still weighted once
  reducer.finish_step("test");
  for (int64_t i = 0; i < t.params.numel(); ++i) ASSERT_EQ(t.grads()[i], 0.5f) << "element " << i;
}

// Sentence pairs (any model's dataset would do: sharding sees only examples and tokens).
models::seq2seq::TranslationData toy_data(int64_t pairs) {
  std::vector<text::EncodedPair> encoded;
  for (int64_t i = 0; i < pairs; ++i)
    encoded.push_back({std::vector<int32_t>(size_t(1 + i % 3), 5), std::vector<int32_t>(size_t(1 + i % 4), 6)});
  return models::seq2seq::TranslationData("toy", {}, std::make_unique<models::seq2seq::Batcher>(encoded, models::seq2seq::BatcherOptions{}), 0);
}

TEST(ShardBatch, RanksShareEveryRowOnceAndTheirWeightsSumToOne) {
  const models::seq2seq::TranslationData data = toy_data(7);
  const std::vector<int64_t> pairs{6, 0, 3, 5, 1, 2, 4};
  for (int ranks : {1, 2, 3, 7, 9}) {
    std::vector<int64_t> seen;
    double weights = 0;
    int empty = 0;
    for (int r = 0; r < ranks; ++r) {
      train::ShardedBatch s = train::shard_batch(data, pairs, r, ranks);
      EXPECT_EQ(s.global_tokens, data.make_batch(pairs)->loss_tokens());
      weights += s.weight();
      if (s.empty()) {
        ++empty;
        continue;
      }
      const models::seq2seq::Batch& local = runtime::batch_as<models::seq2seq::TranslationBatch>(*s.local).batch();
      seen.insert(seen.end(), local.pairs.begin(), local.pairs.end());
    }
    EXPECT_EQ(empty, std::max(0, ranks - 7)) << ranks << " ranks";
    EXPECT_EQ(seen, pairs) << ranks << " ranks";
    EXPECT_NEAR(weights, 1.0, 1e-12) << ranks << " ranks";
  }
}

}  // namespace
}  // namespace loom
