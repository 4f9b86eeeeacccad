#include <gtest/gtest.h>
#include "ops/ops.hpp"
#include "graph/executor.hpp"
using namespace loom;
TEST(Skeleton, AddRuns) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {2, 3}});
  Var b = input(g, "b", {DType::F32, {3}});
  Var y = ops::tanh(a + b);
  ParameterStore ps;
  Executor ex(compile(g, {y.value}), ps);
  ex.set_input("a", Tensor::from_f32({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6}));
  ex.set_input("b", Tensor::from_f32({3}, std::vector<float>{-1, -2, -3}));
  ex.run();
  Tensor out = ex.fetch(0);
  EXPECT_FLOAT_EQ(out.at(3), std::tanh(3.0f));
}
#include "tests/support/op_test.hpp"
TEST(Skeleton, Gradchecks) {
  for (const char* op : {"add", "sub", "mul", "div", "neg", "exp", "log", "sqrt", "sigmoid", "tanh", "relu", "relu_grad", "sum", "reshape"})
    test::expect_op_gradcheck(op);
}
