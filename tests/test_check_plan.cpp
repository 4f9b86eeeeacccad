// The verify mode: an optimised plan is compared with the unoptimised graph.
// A deliberately in-place-sensitive op shows that a difference is reported
// with the output, the node and the element.
#include <gtest/gtest.h>

#include "autograd/grad.hpp"
#include "graph/check_plan.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

using namespace loom;

namespace {

// y = x, plus 1 when y shares x's buffer: wrong on purpose, so that in-place
// reuse changes the result and the comparison must notice.
void aliasing_forward(const KernelCtx& c) {
  const float* x = c.in[0].ptr<float>();
  float* y = c.out[0].ptr<float>();
  bool aliased = c.in[0].data == c.out[0].data;
  for (int64_t i = 0; i < c.out[0].numel(); ++i) y[i] = x[i] + (aliased ? 1.0f : 0.0f);
}

OpId aliasing_op() {
  static const OpId id = [] {
    OpDef d;
    d.name = "test_alias_sensitive";
    d.arity = 1;
    d.flags = kInplaceOk | kNonDifferentiable;
    d.why_no_grad = "a test op";
    d.infer = [](std::span<const TensorType> in, const Attrs&) { return std::vector<TensorType>{in[0]}; };
    d.forward = aliasing_forward;
    return register_op(std::move(d));
  }();
  return id;
}

}  // namespace

TEST(CheckPlan, OptimisedTrainingGraphAgreesWithUnoptimised) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {4, 8}});
  Var w = parameter(g, "w", {DType::F32, {8, 8}});
  Var b = parameter(g, "b", {DType::F32, {8}});
  Var h = ops::tanh(ops::matmul(x, w) + b);
  Var loss = ops::sum(h * h * 0.5 + ops::sigmoid(h));
  std::vector<Var> grads = grad(loss, {w, b});
  ParameterStore params;
  params.declare_all(g);
  std::mt19937_64 rng(1);
  params.fill_uniform(rng, 0.5);
  PlanComparison cmp = compare_with_unoptimized(g, {loss.value, grads[0].value, grads[1].value},
                                                {{"x", test::random_tensor(DType::F32, {4, 8}, 3)}}, params);
  EXPECT_TRUE(cmp.ok()) << cmp.str();
  EXPECT_LT(cmp.worst_error, 1e-5);
}

TEST(CheckPlan, ReportsTheOutputNodeAndElementThatDiffer) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {3}});
  Var t = ops::exp(x);  // transient, dies at the next step: in-place candidate
  Var y = named(apply(aliasing_op(), {t}), "suspect");
  ParameterStore params;
  PlanComparison cmp = compare_with_unoptimized(g, {y.value}, {{"x", Tensor::from_f32({3}, std::vector<float>{0, 1, 2})}},
                                                params);
  ASSERT_FALSE(cmp.ok());
  ASSERT_EQ(cmp.mismatches.size(), 1u);
  EXPECT_EQ(cmp.mismatches[0].output, 0u);
  EXPECT_NE(cmp.str().find("'suspect'"), std::string::npos) << cmp.str();
  EXPECT_NE(cmp.str().find("PLANS DIFFER"), std::string::npos) << cmp.str();
}
