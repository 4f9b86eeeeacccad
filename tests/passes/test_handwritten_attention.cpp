// A dot attention step a user writes by hand (scores = d e^T as a batched
// matmul, a masked softmax over the source, context = weights e) compiles to
// the same plan steps as the built-in "dot" layer of models/attention.cpp, for
// a decoding step (T = 1) and a training graph with gradients, and computes
// the same values.
#include <algorithm>
#include <stdexcept>

#include "autograd/grad.hpp"
#include "models/seq2seq/attention.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

using namespace loom;

namespace {

constexpr int64_t B = 2, S = 5, H = 4;

struct AttentionGraph {
  Graph g;
  Var d, e, mask;
  std::vector<Var> fetch;  // context, weights, then gradients if asked
};

void add_inputs(AttentionGraph& s, int64_t T) {
  s.d = input(s.g, "d", {DType::F32, {B, T, H}});
  s.e = input(s.g, "e", {DType::F32, {B, S, H}});
  s.mask = input(s.g, "mask", {DType::F32, {B, 1, S}});
}

void finish(AttentionGraph& s, Var context, Var weights, bool with_gradients) {
  s.fetch = {context, weights};
  if (!with_gradients) return;
  Var loss = ops::sum(context * context) + ops::sum(weights * 0.5);
  for (const Var& d : grad(loss, {s.d, s.e})) s.fetch.push_back(d);
}

void build_builtin(AttentionGraph& s, int64_t T, bool with_gradients) {
  add_inputs(s, T);
  models::seq2seq::AttentionInputs in{s.d, s.e, s.mask, H, [](const std::string& name, const Shape&) -> Var {
                               throw std::logic_error("dot attention asked for parameter " + name);
                             }};
  models::seq2seq::AttentionOutput out = models::seq2seq::make_attention("dot")->build(s.g, in);
  finish(s, out.context, out.weights, with_gradients);
}

void build_by_hand(AttentionGraph& s, int64_t T, bool with_gradients) {
  add_inputs(s, T);
  Var scores = ops::matmul(s.d, s.e, false, true);        // (B,T,H) x (B,S,H)^T -> (B,T,S)
  Var weights = ops::softmax(scores, -1, s.mask);          // padded sources get 0
  Var context = ops::matmul(weights, s.e);                 // (B,T,S) x (B,S,H) -> (B,T,H)
  finish(s, context, weights, with_gradients);
}

std::vector<std::string> step_ops(const AttentionGraph& s) {
  std::vector<Value> outputs;
  for (const Var& v : s.fetch) outputs.push_back(v.value);
  Plan plan = compile(s.g, outputs);
  std::vector<std::string> ops;
  for (const Step& step : plan.steps) ops.push_back(op_def(plan.program.graph.node(step.node).op).name);
  return ops;
}

test::Feeds feeds(int64_t T) {
  // Row 0 has all S sources, row 1 three and two padded positions.
  Tensor mask(DType::F32, {B, 1, S});
  for (int64_t k = 0; k < mask.numel(); ++k) mask.set(k, k / S == 0 || k % S < 3 ? 1.0 : 0.0);
  return {{"d", test::random_tensor(DType::F32, {B, T, H}, 1)},
          {"e", test::random_tensor(DType::F32, {B, S, H}, 2)},
          {"mask", mask}};
}

void expect_same_plan(int64_t T, bool with_gradients) {
  AttentionGraph builtin, by_hand;
  build_builtin(builtin, T, with_gradients);
  build_by_hand(by_hand, T, with_gradients);
  std::vector<std::string> want = step_ops(builtin);
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(step_ops(by_hand), want) << "T=" << T << (with_gradients ? " with gradients" : "");
  std::vector<Tensor> a = test::run_graph(builtin.g, builtin.fetch, feeds(T));
  std::vector<Tensor> b = test::run_graph(by_hand.g, by_hand.fetch, feeds(T));
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) EXPECT_EQ(test::max_abs_diff(a[k], b[k]), 0.0) << "output " << k;
}

}  // namespace

TEST(HandWrittenAttention, DecodingStepCompilesToTheBuiltinDotPlan) {
  AttentionGraph s;
  build_by_hand(s, 1, false);
  std::vector<std::string> ops = step_ops(s);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "matmul"), 2);
  expect_same_plan(1, false);
}

TEST(HandWrittenAttention, TrainingGraphCompilesToTheBuiltinDotPlan) { expect_same_plan(3, true); }
