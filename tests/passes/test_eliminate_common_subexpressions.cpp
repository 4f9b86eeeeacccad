// eliminate_common_subexpressions: duplicated computations and equal small
// constants merge; kStateful nodes (a dropout-like test op registered here)
// and nodes with different attrs stay separate.
#include <atomic>

#include "graph/vjp.hpp"
#include "graph/passes/passes.hpp"
#include "graph/verify.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

using namespace loom;

namespace {

CompileOptions only_cse() { return test::only(&CompileOptions::eliminate_common_subexpressions); }

// "test_noise": y = x + k, where k counts the kernel's calls, like a random
// mask that differs per node and per run. Two such nodes must never merge.
std::atomic<int> noise_calls{0};

void noise_forward(const KernelCtx& c) {
  double k = ++noise_calls;
  const TensorRef &x = c.in[0], &y = c.out[0];
  for (int64_t i = 0; i < x.numel(); ++i) y.ptr<float>()[i] = x.ptr<float>()[i] + float(k);
}

std::vector<TensorType> infer_same(std::span<const TensorType> in, const Attrs&) { return {in[0]}; }

OpId noise_op() {
  static const OpId id = [] {
    OpDef d;
    d.name = "test_noise";
    d.arity = 1;
    d.flags = kStateful | kNonDifferentiable;
    d.why_no_grad = "a test op";
    d.infer = infer_same;
    d.forward = noise_forward;
    return register_op(std::move(d));
  }();
  return id;
}

}  // namespace

TEST(EliminateCommonSubexpressions, MergesDuplicatesAndEqualScalars) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {3, 4}});
  Var b = input(g, "b", {DType::F32, {3, 4}});
  Var t1 = ops::tanh(a * b);
  Var t2 = ops::tanh(a * b);
  Var s1 = a * 2.0;  // each scalar_like makes its own constant
  Var s2 = a * 2.0;
  Var s3 = a * 3.0;  // a different value: not merged
  Var y = (t1 + t2) + (s1 - s2) + s3;

  Program p{g, {y.value}};
  run_eliminate_common_subexpressions(p, only_cse());
  verify(p, "eliminate_common_subexpressions");
  EXPECT_EQ(test::count_op(p.graph, "tanh"), 1);
  EXPECT_EQ(test::count_op(p.graph, "mul"), 3);       // a*b, a*2, a*3
  EXPECT_EQ(test::count_op(p.graph, "constant"), 2);  // 2.0 and 3.0
  EXPECT_EQ(test::count_op(p.graph, "input"), 2);
  const Node& sum = p.graph.node(p.graph.node(p.graph.node(p.outputs[0].node).inputs[0].node).inputs[0].node);
  EXPECT_EQ(sum.inputs[0], sum.inputs[1]);  // t1 + t2 now reads one value twice

  test::Feeds feeds{{"a", test::random_tensor(DType::F32, {3, 4}, 21)},
                    {"b", test::random_tensor(DType::F32, {3, 4}, 22)}};
  std::vector<Tensor> on = test::run_graph(g, {y}, feeds, only_cse());
  std::vector<Tensor> off = test::run_graph(g, {y}, feeds, CompileOptions::none());
  EXPECT_EQ(test::max_abs_diff(on[0], off[0]), 0.0);
}

TEST(EliminateCommonSubexpressions, KeepsStatefulNodesAndDifferentAttrs) {
  OpId noise = noise_op();
  Graph g;
  Var x = input(g, "x", {DType::F32, {2, 3}});
  Var n1 = apply(noise, {x});
  Var n2 = apply(noise, {x});
  Var r0 = ops::sum(x, {0});
  Var r1 = ops::sum(x, {1});
  Program p{g, {n1.value, n2.value, r0.value, r1.value}};
  run_eliminate_common_subexpressions(p, only_cse());
  verify(p, "eliminate_common_subexpressions");
  EXPECT_EQ(test::count_op(p.graph, "test_noise"), 2);
  EXPECT_EQ(test::count_op(p.graph, "sum"), 2);
  EXPECT_NE(p.outputs[0], p.outputs[1]);

  test::Feeds feeds{{"x", test::random_tensor(DType::F32, {2, 3}, 23)}};
  std::vector<Tensor> on = test::run_graph(g, {n1, n2, r0, r1}, feeds, only_cse());
  EXPECT_NE(on[0].at(0), on[1].at(0));  // two draws, not one
  std::vector<Tensor> off = test::run_graph(g, {n1, n2, r0, r1}, feeds, CompileOptions::none());
  EXPECT_EQ(test::max_abs_diff(on[2], off[2]), 0.0);
  EXPECT_EQ(test::max_abs_diff(on[3], off[3]), 0.0);
}

TEST(EliminateCommonSubexpressions, MergesEqualOutputsOfAProgram) {
  Graph g;
  Var x = input(g, "x", {DType::F64, {5}});
  Var y1 = ops::exp(ops::neg(x));
  Var y2 = ops::exp(ops::neg(x));
  Program p{g, {y1.value, y2.value}};
  run_eliminate_common_subexpressions(p, only_cse());
  verify(p, "eliminate_common_subexpressions");
  EXPECT_EQ(p.outputs[0], p.outputs[1]);
  EXPECT_EQ(p.graph.size(), 3u);

  test::Feeds feeds{{"x", test::random_tensor(DType::F64, {5}, 24)}};
  std::vector<Tensor> on = test::run_graph(g, {y1, y2}, feeds, only_cse());
  std::vector<Tensor> off = test::run_graph(g, {y1, y2}, feeds, CompileOptions::none());
  EXPECT_EQ(test::max_abs_diff(on[0], off[0]), 0.0);
  EXPECT_EQ(test::max_abs_diff(on[1], off[1]), 0.0);
}
