// Executors that share a transient arena and a step scratch (a model's plans
// for several batch shapes) give exactly the results of executors with
// memory of their own, in any order of creation and running, also after a
// larger plan moved the shared memory; and the shared memory is the largest
// plan's, not the sum.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "autograd/grad.hpp"
#include "graph/executor.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

constexpr int64_t kIn = 6, kHidden = 8, kBatch = 3;

// Loss of an LSTM over (B, S, In) and its gradients: the backward step uses
// step scratch, the forward a transient arena.
Plan lstm_plan(int64_t S) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {kBatch, S, kIn}});
  Var lengths = input(g, "lengths", {DType::I32, {kBatch}});
  Var h0 = input(g, "h0", {DType::F32, {kBatch, kHidden}});
  Var w_ih = parameter(g, "w_ih", {DType::F32, {4 * kHidden, kIn}});
  Var w_hh = parameter(g, "w_hh", {DType::F32, {4 * kHidden, kHidden}});
  Var b = parameter(g, "b", {DType::F32, {4 * kHidden}});
  auto r = ops::lstm_sequence(x, lengths, {h0, h0}, w_ih, w_hh, b, b);
  Var loss = ops::sum(ops::tanh(r.output) * r.output);
  std::vector<Var> grads = grad(loss, {w_ih, w_hh, b});
  return compile(g, {loss.value, grads[0].value, grads[1].value, grads[2].value});
}

struct Feeds {
  Tensor x, lengths, h0;
};

Feeds feeds(int64_t S, uint64_t seed) {
  Tensor lengths(DType::I32, {kBatch});
  for (int64_t b = 0; b < kBatch; ++b) lengths.data<int32_t>()[b] = int32_t(std::max<int64_t>(1, S - b));
  return {test::random_tensor(DType::F32, {kBatch, S, kIn}, seed), lengths,
          test::random_tensor(DType::F32, {kBatch, kHidden}, seed + 1)};
}

std::vector<std::vector<double>> run(Executor& ex, const Feeds& f) {
  ex.set_input("x", f.x);
  ex.set_input("lengths", f.lengths);
  ex.set_input("h0", f.h0);
  ex.run();
  std::vector<std::vector<double>> out;
  for (size_t i = 0; i < ex.num_outputs(); ++i) out.push_back(ex.fetch(i).to_vector());
  return out;
}

class SharedArenaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Graph g;
    parameter(g, "w_ih", {DType::F32, {4 * kHidden, kIn}});
    parameter(g, "w_hh", {DType::F32, {4 * kHidden, kHidden}});
    parameter(g, "b", {DType::F32, {4 * kHidden}});
    params.declare_all(g);
    std::mt19937_64 rng(7);
    params.fill_uniform(rng, 0.3);
  }
  std::unique_ptr<Executor> shared(int64_t S) {
    ExecutorOptions o;
    o.transient_arena = &arena;
    o.step_scratch = &scratch;
    return std::make_unique<Executor>(lstm_plan(S), params, std::move(o));
  }
  ParameterStore params;
  SharedArena arena, scratch;
};

TEST_F(SharedArenaTest, ResultsEqualThoseOfExecutorsWithTheirOwnMemory) {
  const std::vector<int64_t> lengths{4, 9, 2, 16};  // growing, then smaller, then the largest
  std::vector<std::unique_ptr<Executor>> own, with_shared;
  for (int64_t S : lengths) {
    own.push_back(std::make_unique<Executor>(lstm_plan(S), params));
    with_shared.push_back(shared(S));
  }
  for (int round = 0; round < 2; ++round)
    for (size_t i = 0; i < lengths.size(); ++i) {
      Feeds f = feeds(lengths[i], 10 * i + round);
      EXPECT_EQ(run(*with_shared[i], f), run(*own[i], f)) << "S=" << lengths[i] << " round " << round;
    }
}

TEST_F(SharedArenaTest, AnExecutorRunsCorrectlyAfterALargerPlanMovedTheMemory) {
  auto small = shared(3);
  Executor reference(lstm_plan(3), params);
  Feeds f = feeds(3, 1);
  run(*small, f);
  const uint64_t before = arena.generation();
  auto large = shared(24);
  ASSERT_NE(arena.generation(), before);  // the memory moved under `small`
  run(*large, feeds(24, 2));
  EXPECT_EQ(run(*small, f), run(reference, f));
}

TEST_F(SharedArenaTest, SharedMemoryIsTheLargestPlansNotTheSum) {
  size_t largest = 0, sum = 0;
  std::vector<std::unique_ptr<Executor>> all;
  for (int64_t S : {5, 20, 11}) {
    all.push_back(shared(S));
    const size_t bytes = all.back()->plan().arena_bytes[size_t(Arena::Transient)];
    largest = std::max(largest, bytes);
    sum += bytes;
  }
  EXPECT_EQ(arena.bytes(), largest);
  EXPECT_LT(arena.bytes(), sum);
  EXPECT_GT(scratch.bytes(), 0u);  // the LSTM's backward reserved its working memory
}

}  // namespace
}  // namespace loom
