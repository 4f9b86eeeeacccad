// A user op added from outside the core (examples/swish_op.cpp) works
// like a built-in: it registers once, builds into graphs, runs forward in f32
// and f64, differentiates through grad(), and passes the registry's gradient
// check.
#include <cmath>

#include "autograd/grad.hpp"
#include "graph/errors.hpp"
#include "examples/swish_op.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

double swish_reference(double x) { return x / (1.0 + std::exp(-x)); }
double swish_derivative_reference(double x) {
  double s = 1.0 / (1.0 + std::exp(-x));
  return s + x * s * (1.0 - s);
}

TEST(CustomOp, RegistersOnceWithEverythingAnOpNeeds) {
  OpId id = examples::register_swish();
  EXPECT_EQ(examples::register_swish(), id);  // a second call is harmless
  const OpDef& def = op_def(id);
  EXPECT_EQ(def.name, "swish");
  EXPECT_TRUE(def.infer && def.forward && def.vjp && def.example);
  EXPECT_FALSE(def.has(kNonDifferentiable));
  EXPECT_EQ(op_id("swish"), id);
}

TEST(CustomOp, ForwardMatchesReferenceInBothDtypes) {
  for (DType dt : {DType::F32, DType::F64}) {
    Graph g;
    Var x = input(g, "x", {dt, {7, 9}});
    Var y = examples::swish(x);
    EXPECT_EQ(y.type(), x.type());
    Tensor xv = test::random_tensor(dt, {7, 9}, 3, -6.0, 6.0);
    Tensor out = test::run_graph(g, {y}, {{"x", xv}})[0];
    Tensor ref(dt, {7, 9});
    for (int64_t i = 0; i < ref.numel(); ++i) ref.set(i, swish_reference(xv.at(i)));
    EXPECT_LT(test::rel_l2_error(out, ref), dt == DType::F32 ? 1e-6 : 1e-14) << dtype_name(dt);
  }
}

TEST(CustomOp, LargeInputRunsInParallelAndMatches) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {300, 257}});  // above the OpenMP grain
  Tensor xv = test::random_tensor(DType::F32, {300, 257}, 5, -4.0, 4.0);
  Tensor out = test::run_graph(g, {examples::swish(x)}, {{"x", xv}})[0];
  for (int64_t i = 0; i < out.numel(); i += 97) EXPECT_NEAR(out.at(i), swish_reference(xv.at(i)), 1e-5);
}

TEST(CustomOp, GradientThroughGraphMatchesDerivative) {
  Graph g;
  Var x = input(g, "x", {DType::F64, {2, 5}});
  Var loss = ops::sum(examples::swish(x) * 3.0);
  Var dx = grad(loss, {x})[0];
  Tensor xv = test::random_tensor(DType::F64, {2, 5}, 11, -3.0, 3.0);
  Tensor got = test::run_graph(g, {dx}, {{"x", xv}})[0];
  for (int64_t i = 0; i < got.numel(); ++i) EXPECT_NEAR(got.at(i), 3.0 * swish_derivative_reference(xv.at(i)), 1e-12);
}

TEST(CustomOp, Gradcheck) {
  examples::register_swish();
  test::expect_op_gradcheck("swish");
}

TEST(CustomOp, RejectsIntegerInputAndDuplicateRegistration) {
  Graph g;
  Var ids = input(g, "ids", {DType::I32, {4}});
  EXPECT_THROW(examples::swish(ids), ShapeError);
  OpDef again = op_def(examples::register_swish());
  EXPECT_THROW(register_op(again), GraphError);
}

}  // namespace
}  // namespace loom
