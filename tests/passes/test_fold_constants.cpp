// fold_constants: arithmetic on constants becomes one constant with the right
// value; nodes reading inputs, and nodes without inputs, are left alone.
#include <cmath>

#include "graph/passes/passes.hpp"
#include "graph/verify.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

using namespace loom;

namespace {

CompileOptions only_fold() { return test::only(&CompileOptions::fold_constants); }

}  // namespace

TEST(FoldConstants, ConstantArithmeticBecomesOneConstant) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {2, 3}});
  Tensor c1v = test::random_tensor(DType::F32, {2, 3}, 11);
  Var c1 = constant(g, c1v, "c1");
  Var folded = c1 * 2.0 + ops::exp(c1);  // all constant
  Var y = x + folded;

  Program p{g, {y.value}};
  run_fold_constants(p, only_fold());
  verify(p, "fold_constants");
  EXPECT_EQ(test::count_op(p.graph, "exp"), 0);
  EXPECT_EQ(test::count_op(p.graph, "mul"), 0);
  EXPECT_EQ(test::count_op(p.graph, "add"), 1);  // x + folded stays: x is an input
  const Node& add = p.graph.node(p.outputs[0].node);
  ASSERT_EQ(op_def(add.op).name, "add");
  NodeId k = add.inputs[1].node;
  ASSERT_TRUE(p.graph.is_constant(k));
  const Tensor& kv = p.graph.constant_value(k);
  for (int64_t i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(float(kv.at(i)), float(c1v.at(i) * 2.0 + std::exp(c1v.at(i))));

  // The constants it consumed are dead now; dead-code elimination leaves one.
  run_eliminate_dead_code(p, only_fold());
  verify(p, "eliminate_dead_code");
  EXPECT_EQ(test::count_op(p.graph, "constant"), 1);
  EXPECT_EQ(p.graph.size(), 3u);

  test::Feeds feeds{{"x", test::random_tensor(DType::F32, {2, 3}, 12)}};
  std::vector<Tensor> on = test::run_graph(g, {y}, feeds, only_fold());
  std::vector<Tensor> off = test::run_graph(g, {y}, feeds, CompileOptions::none());
  EXPECT_LT(test::max_abs_diff(on[0], off[0]), 1e-6);
}

TEST(FoldConstants, LeavesInputsAndGeneratorsAlone) {
  Graph g;
  Var x = input(g, "x", {DType::F64, {4}});
  Var z = ops::fill(g, {DType::F64, {4}}, 1.5);  // no inputs: not a fold candidate
  Var y = ops::tanh(x) * z;
  Program p{g, {y.value}};
  size_t before = p.graph.size();
  run_fold_constants(p, only_fold());
  verify(p, "fold_constants");
  EXPECT_EQ(p.graph.size(), before);
  EXPECT_EQ(test::count_op(p.graph, "fill"), 1);
  EXPECT_EQ(test::count_op(p.graph, "constant"), 0);

  test::Feeds feeds{{"x", test::random_tensor(DType::F64, {4}, 13)}};
  std::vector<Tensor> on = test::run_graph(g, {y}, feeds, only_fold());
  std::vector<Tensor> off = test::run_graph(g, {y}, feeds, CompileOptions::none());
  EXPECT_EQ(test::max_abs_diff(on[0], off[0]), 0.0);
}

TEST(FoldConstants, FoldedOutputIsFetchable) {
  Graph g;
  Var c = constant(g, Tensor::from_f64({3}, std::vector<double>{1, 4, 9}));
  Var y = ops::sqrt(c) - 1.0;
  std::vector<Tensor> on = test::run_graph(g, {y}, {}, only_fold());
  ASSERT_EQ(on[0].numel(), 3);
  EXPECT_DOUBLE_EQ(on[0].at(0), 0.0);
  EXPECT_DOUBLE_EQ(on[0].at(1), 1.0);
  EXPECT_DOUBLE_EQ(on[0].at(2), 2.0);
}
