// fuse_elementwise: tanh(a*b+c) becomes one fused node whose results match
// the unfused chain; values with several consumers, program outputs and
// broadcasts that are not single elements stop a chain.
#include <cmath>

#include "graph/errors.hpp"
#include "graph/passes/passes.hpp"
#include "graph/verify.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

using namespace loom;

namespace {

const Node* find_fused(const Graph& g) {
  for (const Node& n : g.nodes())
    if (op_def(n.op).name == "fused_elementwise") return &n;
  return nullptr;
}

CompileOptions only_fuse() { return test::only(&CompileOptions::fuse_elementwise); }

Program fused_program(const Graph& g, const std::vector<Var>& outputs) {
  Program p{g, {}};
  for (const Var& v : outputs) p.outputs.push_back(v.value);
  run_fuse_elementwise(p, only_fuse());
  verify(p, "fuse_elementwise");
  return p;
}

void expect_same_results(const Graph& g, const std::vector<Var>& outputs, const test::Feeds& feeds) {
  std::vector<Tensor> on = test::run_graph(g, outputs, feeds, only_fuse());
  std::vector<Tensor> off = test::run_graph(g, outputs, feeds, CompileOptions::none());
  // The fused kernel calls the same block functions: results are bit-identical.
  for (size_t i = 0; i < on.size(); ++i) EXPECT_EQ(test::max_abs_diff(on[i], off[i]), 0.0) << "output " << i;
}

}  // namespace

TEST(FuseElementwise, TanhOfMulAddIsOneNode) {
  for (DType dt : {DType::F32, DType::F64}) {
    Graph g;
    Shape s{7, 151};  // 1057 elements: several blocks and a ragged tail
    Var a = input(g, "a", {dt, s}), b = input(g, "b", {dt, s}), c = input(g, "c", {dt, s});
    Var y = ops::tanh(a * b + c);
    Program p = fused_program(g, {y});
    EXPECT_EQ(test::count_op(p.graph, "fused_elementwise"), 1);
    EXPECT_EQ(test::count_op(p.graph, "mul") + test::count_op(p.graph, "add") + test::count_op(p.graph, "tanh"), 0);
    EXPECT_EQ(p.graph.size(), 4u);
    const Node* f = find_fused(p.graph);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->name, "tanh\u2218add\u2218mul");
    EXPECT_EQ(f->inputs.size(), 3u);
    EXPECT_EQ(f->outputs[0], (TensorType{dt, s}));
    test::Feeds feeds{{"a", test::random_tensor(dt, s, 1)}, {"b", test::random_tensor(dt, s, 2)},
                      {"c", test::random_tensor(dt, s, 3)}};
    expect_same_results(g, {y}, feeds);
    // And against a naive loop.
    Tensor got = test::run_graph(g, {y}, feeds, only_fuse())[0];
    double tol = dt == DType::F32 ? 1e-6 : 1e-14;
    for (int64_t i = 0; i < got.numel(); ++i) {
      double want = std::tanh(feeds[0].second.at(i) * feeds[1].second.at(i) + feeds[2].second.at(i));
      ASSERT_NEAR(got.at(i), want, tol) << "element " << i;
    }
  }
}

TEST(FuseElementwise, SingleElementOperandsBroadcast) {
  Graph g;
  Shape s{300};
  Var a = input(g, "a", {DType::F32, s});
  Var k = input(g, "k", {DType::F32, {1}});
  Var y = ops::sigmoid(a * 0.5 + k) * ops::exp(k);  // exp(k) is a one-element intermediate
  Program p = fused_program(g, {y});
  EXPECT_EQ(test::count_op(p.graph, "fused_elementwise"), 1);
  EXPECT_EQ(test::count_op(p.graph, "exp"), 0);
  const Node* f = find_fused(p.graph);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->inputs.size(), 3u);  // a, the constant 0.5, k (read twice, passed once)
  expect_same_results(g, {y}, {{"a", test::random_tensor(DType::F32, s, 4)}, {"k", test::random_tensor(DType::F32, {1}, 5)}});
}

TEST(FuseElementwise, StopsAtValuesWithSeveralConsumers) {
  Graph g;
  Shape s{4, 8};
  Var a = input(g, "a", {DType::F32, s}), b = input(g, "b", {DType::F32, s});
  Var m = a * b;                              // read by tanh and by exp
  Var t = ops::tanh(m);
  Var e = ops::exp(m);
  Var y = t * e;
  Program p = fused_program(g, {y});
  EXPECT_EQ(test::count_op(p.graph, "mul"), 1);     // m itself stays
  EXPECT_EQ(test::count_op(p.graph, "fused_elementwise"), 1);
  const Node* f = find_fused(p.graph);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->name, "mul\u2218exp\u2218tanh");
  ASSERT_EQ(f->inputs.size(), 1u);
  EXPECT_EQ(op_def(p.graph.node(f->inputs[0].node).op).name, "mul");
  expect_same_results(g, {y}, {{"a", test::random_tensor(DType::F32, s, 6)}, {"b", test::random_tensor(DType::F32, s, 7)}});
}

TEST(FuseElementwise, StopsAtProgramOutputsAndRowBroadcasts) {
  Graph g;
  Shape s{4, 8};
  Var a = input(g, "a", {DType::F32, s}), b = input(g, "b", {DType::F32, s});
  Var bias = input(g, "bias", {DType::F32, {8}});
  Var t = a * b;              // fetched: must stay materialised
  Var y = ops::tanh(t);
  Var z = ops::relu(a + bias);  // bias is neither (4,8) nor one element
  Program p = fused_program(g, {t, y, z});
  EXPECT_EQ(test::count_op(p.graph, "fused_elementwise"), 0);
  EXPECT_EQ(p.graph.size(), g.size());
  expect_same_results(g, {t, y, z}, {{"a", test::random_tensor(DType::F32, s, 8)},
                                     {"b", test::random_tensor(DType::F32, s, 9)},
                                     {"bias", test::random_tensor(DType::F32, {8}, 10)}});
}

TEST(FuseElementwise, LongChainsSplitAndLargeInputsRunInParallel) {
  Graph g;
  Shape s{1 << 16};  // above the parallel grain
  Var a = input(g, "a", {DType::F32, s}), b = input(g, "b", {DType::F32, s});
  Var x = a;
  for (int i = 0; i < 30; ++i) x = (i % 2) ? ops::tanh(x + b) : ops::sigmoid(x * b);
  Program p = fused_program(g, {x});
  int fused = test::count_op(p.graph, "fused_elementwise");
  EXPECT_GE(fused, 4);  // 60 ops, at most 12 per fused node
  EXPECT_EQ(test::count_op(p.graph, "tanh"), 0);
  expect_same_results(g, {x}, {{"a", test::random_tensor(DType::F32, s, 11)}, {"b", test::random_tensor(DType::F32, s, 12)}});
}

TEST(FuseElementwise, VerifyRejectsATamperedProgram) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {16}});
  Var y = ops::exp(ops::neg(a));
  Program p = fused_program(g, {y});
  Node& f = p.graph.node(p.outputs[0].node);
  ASSERT_EQ(op_def(f.op).name, "fused_elementwise");
  f.outputs[0].shape = Shape{8};
  EXPECT_THROW(verify(p, "tampering"), GraphError);
}
