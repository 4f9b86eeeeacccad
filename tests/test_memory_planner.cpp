// assign_memory: on random interval sets no two buffers alive at the same
// step share bytes, offsets are 64-byte aligned, the arena is no larger than
// the naive sum, fetched outputs stay untouched to the end; in place, a unary
// chain runs in one buffer, but never over a value read later.
#include <climits>
#include <random>

#include "graph/plan.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

using namespace loom;

namespace {

size_t aligned(size_t b) { return (b + kAlignment - 1) / kAlignment * kAlignment; }

int32_t end_of(const Buffer& b) { return std::max(b.first_step, b.last_step); }

bool lifetimes_overlap(const Buffer& x, const Buffer& y) {
  return x.first_step <= end_of(y) && y.first_step <= end_of(x);
}

// An in-place hand-over: one buffer dies at the step that writes the other, at the same offset.
bool in_place_pair(const Buffer& x, const Buffer& y) {
  return x.offset == y.offset && x.bytes == y.bytes && (end_of(x) == y.first_step || end_of(y) == x.first_step);
}

bool memory_overlaps(const Buffer& x, const Buffer& y) {
  return x.bytes && y.bytes && x.offset < y.offset + y.bytes && y.offset < x.offset + x.bytes;
}

Plan random_plan(std::mt19937_64& rng, bool plan_memory) {
  Plan plan;
  plan.options = CompileOptions::none();
  plan.options.plan_memory = plan_memory;
  std::uniform_int_distribution<int32_t> step(0, 40), span(0, 12), kind(0, 9);
  std::uniform_int_distribution<size_t> bytes(0, 9000);
  int n = std::uniform_int_distribution<int>(1, 80)(rng);
  for (int i = 0; i < n; ++i) {
    Buffer b;
    b.bytes = bytes(rng);
    int k = kind(rng);
    if (k == 0) {
      b.arena = Arena::Input;
    } else if (k == 1) {
      b.arena = Arena::Constant;
    } else {
      b.first_step = step(rng);
      b.last_step = k == 2 ? INT32_MAX : k == 3 ? -1 : b.first_step + span(rng);  // fetched / never read / read
    }
    plan.buffers.push_back(b);
    if (b.arena == Arena::Transient) plan.naive_transient_bytes += aligned(b.bytes);
  }
  return plan;
}

void expect_valid_layout(const Plan& plan) {
  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    const Buffer& x = plan.buffers[i];
    EXPECT_EQ(x.offset % kAlignment, 0u);
    EXPECT_LE(x.offset + x.bytes, plan.arena_bytes[size_t(x.arena)]) << "buffer " << i << " leaves its arena";
    for (size_t j = i + 1; j < plan.buffers.size(); ++j) {
      const Buffer& y = plan.buffers[j];
      if (x.arena != y.arena) continue;
      bool must_differ = x.arena != Arena::Transient || (lifetimes_overlap(x, y) && !in_place_pair(x, y));
      if (must_differ) {
        EXPECT_FALSE(memory_overlaps(x, y)) << "buffers " << i << " and " << j;
      }
    }
  }
}

}  // namespace

TEST(MemoryPlanner, RandomIntervalsNeverShareLiveBytes) {
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 300; ++trial) {
    Plan plan = random_plan(rng, true);
    assign_memory(plan);
    expect_valid_layout(plan);
    EXPECT_LE(plan.arena_bytes[size_t(Arena::Transient)], plan.naive_transient_bytes);
    if (testing::Test::HasFailure()) break;
  }
}

TEST(MemoryPlanner, OffWhenDisabledGivesOneSlotPerBuffer) {
  std::mt19937_64 rng(43);
  Plan plan = random_plan(rng, false);
  assign_memory(plan);
  expect_valid_layout(plan);
  EXPECT_EQ(plan.arena_bytes[size_t(Arena::Transient)], plan.naive_transient_bytes);
  for (size_t i = 0; i < plan.buffers.size(); ++i)
    for (size_t j = i + 1; j < plan.buffers.size(); ++j)
      if (plan.buffers[i].arena == plan.buffers[j].arena) {
        EXPECT_FALSE(memory_overlaps(plan.buffers[i], plan.buffers[j]));
      }
}

TEST(MemoryPlanner, ReusesDeadBuffersInACompiledPlan) {
  Graph g;
  Shape s{64, 64};
  Var x = input(g, "x", {DType::F32, s});
  Var y = x;
  for (int i = 0; i < 8; ++i) y = ops::tanh(y + x);  // add reads x, so it cannot write into it
  CompileOptions planned = CompileOptions::none();
  planned.plan_memory = true;
  Plan plan = compile(g, {y.value}, planned);
  expect_valid_layout(plan);
  EXPECT_LT(plan.arena_bytes[size_t(Arena::Transient)], plan.naive_transient_bytes / 4);
  uint32_t out = plan.output_buffers[0];
  for (uint32_t b = 0; b < plan.buffers.size(); ++b)  // the output is pinned: nothing else lands on it
    if (b != out && plan.buffers[b].arena == Arena::Transient && plan.buffers[b].first_step >= plan.buffers[out].first_step) {
      EXPECT_FALSE(memory_overlaps(plan.buffers[b], plan.buffers[out])) << "buffer " << b;
    }

  test::Feeds feeds{{"x", test::random_tensor(DType::F32, s, 1)}};
  std::vector<Tensor> on = test::run_graph(g, {y}, feeds, planned);
  std::vector<Tensor> off = test::run_graph(g, {y}, feeds, CompileOptions::none());
  EXPECT_EQ(test::max_abs_diff(on[0], off[0]), 0.0);
}

TEST(MemoryPlanner, UnaryChainRunsInPlace) {
  Graph g;
  Shape s{1000};
  Var x = input(g, "x", {DType::F64, s});
  Var y = ops::relu(ops::sigmoid(ops::tanh(ops::exp(x))));
  CompileOptions o = CompileOptions::none();
  o.plan_memory = true;
  o.reuse_in_place = true;
  Plan plan = compile(g, {y.value}, o);
  ASSERT_EQ(plan.steps.size(), 4u);
  size_t first = plan.buffers[plan.steps[0].out[0]].offset;
  for (const Step& st : plan.steps) EXPECT_EQ(plan.buffers[st.out[0]].offset, first);
  EXPECT_EQ(plan.arena_bytes[size_t(Arena::Transient)], aligned(1000 * sizeof(double)));
  EXPECT_EQ(plan.naive_transient_bytes, 4 * aligned(1000 * sizeof(double)));

  test::Feeds feeds{{"x", test::random_tensor(DType::F64, s, 2)}};
  std::vector<Tensor> on = test::run_graph(g, {y}, feeds, o);
  std::vector<Tensor> off = test::run_graph(g, {y}, feeds, CompileOptions::none());
  EXPECT_EQ(test::max_abs_diff(on[0], off[0]), 0.0);
}

TEST(MemoryPlanner, NoInPlaceOverAValueReadLaterOrFetched) {
  Graph g;
  Shape s{256};
  Var x = input(g, "x", {DType::F32, s});
  Var e = ops::exp(x);
  Var t = ops::tanh(e);   // e is read again below: tanh must not overwrite it
  Var w = t + e;
  Var n = ops::neg(w);    // w is fetched: neg must not overwrite it
  CompileOptions o = CompileOptions::none();
  o.plan_memory = true;
  o.reuse_in_place = true;
  Plan plan = compile(g, {w.value, n.value}, o);
  ASSERT_EQ(plan.steps.size(), 4u);
  auto out_of = [&](size_t s) -> const Buffer& { return plan.buffers[plan.steps[s].out[0]]; };
  EXPECT_NE(out_of(1).offset, out_of(0).offset);  // tanh vs exp
  EXPECT_EQ(out_of(2).offset, out_of(1).offset);  // add writes over tanh's dying result
  EXPECT_NE(out_of(3).offset, out_of(2).offset);  // neg vs the fetched sum
  expect_valid_layout(plan);

  test::Feeds feeds{{"x", test::random_tensor(DType::F32, s, 3)}};
  std::vector<Tensor> on = test::run_graph(g, {w, n}, feeds, o);
  std::vector<Tensor> off = test::run_graph(g, {w, n}, feeds, CompileOptions::none());
  EXPECT_EQ(test::max_abs_diff(on[0], off[0]), 0.0);
  EXPECT_EQ(test::max_abs_diff(on[1], off[1]), 0.0);
}
