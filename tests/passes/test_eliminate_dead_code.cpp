// eliminate_dead_code: unused branches disappear, inputs and parameters stay,
// ids stay topological, and the compiled results do not change.
#include "graph/passes/passes.hpp"
#include "graph/verify.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

using namespace loom;

namespace {

CompileOptions only_dce() { return test::only(&CompileOptions::eliminate_dead_code); }

}  // namespace

TEST(EliminateDeadCode, RemovesAnUnusedBranchAndKeepsLeaves) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {2, 3}});
  Var b = input(g, "b", {DType::F32, {2, 3}});
  Var unused_in = input(g, "unused", {DType::F32, {4}});
  Var w = parameter(g, "w", {DType::F32, {3}});
  Var dead = ops::exp(a) * b + scalar_like(a, 3.0);  // never fetched
  Var y = ops::tanh(a + b);
  (void)dead;
  (void)unused_in;
  (void)w;

  Program p{g, {y.value}};
  run_eliminate_dead_code(p, only_dce());
  verify(p, "eliminate_dead_code");
  EXPECT_EQ(test::count_op(p.graph, "exp"), 0);
  EXPECT_EQ(test::count_op(p.graph, "mul"), 0);
  EXPECT_EQ(test::count_op(p.graph, "constant"), 0);
  EXPECT_EQ(test::count_op(p.graph, "input"), 3);  // "unused" is kept: feeds are by name
  EXPECT_EQ(test::count_op(p.graph, "parameter"), 1);
  EXPECT_EQ(p.graph.size(), 6u);  // a b unused w add tanh
  ASSERT_EQ(p.outputs.size(), 1u);
  EXPECT_EQ(op_def(p.graph.node(p.outputs[0].node).op).name, "tanh");

  test::Feeds feeds{{"a", test::random_tensor(DType::F32, {2, 3}, 1)},
                    {"b", test::random_tensor(DType::F32, {2, 3}, 2)},
                    {"unused", test::random_tensor(DType::F32, {4}, 3)}};
  std::vector<Tensor> on = test::run_graph(g, {y}, feeds, only_dce());
  std::vector<Tensor> off = test::run_graph(g, {y}, feeds, CompileOptions::none());
  EXPECT_EQ(test::max_abs_diff(on[0], off[0]), 0.0);
}

TEST(EliminateDeadCode, RemapsSeveralOutputsIncludingALeaf) {
  Graph g;
  Var a = input(g, "a", {DType::F64, {5}});
  Var dead = ops::sqrt(a);
  (void)dead;
  Var y1 = ops::exp(a);
  Var y2 = ops::neg(y1);
  Program p{g, {y2.value, a.value, y1.value}};
  run_eliminate_dead_code(p, only_dce());
  verify(p, "eliminate_dead_code");
  EXPECT_EQ(p.graph.size(), 3u);
  EXPECT_EQ(op_def(p.graph.node(p.outputs[0].node).op).name, "neg");
  EXPECT_TRUE(p.graph.is_input(p.outputs[1].node));
  EXPECT_EQ(op_def(p.graph.node(p.outputs[2].node).op).name, "exp");

  test::Feeds feeds{{"a", test::random_tensor(DType::F64, {5}, 4)}};
  std::vector<Tensor> on = test::run_graph(g, {y2, a, y1}, feeds, only_dce());
  std::vector<Tensor> off = test::run_graph(g, {y2, a, y1}, feeds, CompileOptions::none());
  for (size_t i = 0; i < on.size(); ++i) EXPECT_EQ(test::max_abs_diff(on[i], off[i]), 0.0) << "output " << i;
}
