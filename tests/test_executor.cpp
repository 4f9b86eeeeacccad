// The executor's promises: once warm, run() allocates nothing (this file
// replaces global operator new/delete with counting versions); bound outputs
// are written into the caller's memory; a feed of the wrong type is refused
// naming the input and both types; a ParameterStore whose layout changed
// after binding is refused.
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "graph/errors.hpp"
#include "ops/ops.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/op_test.hpp"


namespace loom {
namespace {

TEST(Executor, AllocationCounterSeesAllocations) {  // the instrument itself works
  long n = test::allocations_during([] { std::string s(1000, 'x'); (void)s; });
  EXPECT_GE(n, 1);
}

// Elementwise chain, same shapes, large enough for OpenMP teams.
TEST(Executor, WarmRunAllocatesNothing) {
  const Shape s{256, 300};
  Graph g;
  Var a = input(g, "a", {DType::F32, s});
  Var b = input(g, "b", {DType::F32, s});
  Var y = ops::tanh(a * b + a) - ops::sigmoid(b) / (ops::exp(a) + b * b);
  Var z = ops::relu(y) + ops::neg(a);
  ParameterStore params;
  Executor ex(compile(g, {y.value, z.value}), params);
  Tensor av = test::random_tensor(DType::F32, s, 1), bv = test::random_tensor(DType::F32, s, 2);
  ex.set_input("a", av);
  ex.set_input("b", bv);
  ex.run();  // warm: thread pools, lazily created state
  long n = test::allocations_during([&] {
    ex.set_input("a", av);
    ex.set_input("b", bv);
    ex.run();
    ex.run();
  });
  EXPECT_EQ(n, 0) << "run() or set_input() allocated once warm";
  EXPECT_NEAR(ex.output(0).ptr<float>()[7], std::tanh(av.at(7) * bv.at(7) + av.at(7)) -
                  1.0 / (1.0 + std::exp(-bv.at(7))) / (std::exp(av.at(7)) + bv.at(7) * bv.at(7)), 1e-5);
}

// Broadcasting and reductions run allocation-free too: their strides and
// axis lists live on the stack.
TEST(Executor, WarmRunWithBroadcastAndSumAllocatesNothing) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {64, 300}});
  Var b = input(g, "b", {DType::F32, {300}});
  Var y = ops::sum(ops::tanh(a + b), {0});
  ParameterStore params;
  Executor ex(compile(g, {y.value}), params);
  ex.set_input("a", test::random_tensor(DType::F32, {64, 300}, 1));
  ex.set_input("b", test::random_tensor(DType::F32, {300}, 2));
  ex.run();
  EXPECT_EQ(test::allocations_during([&] { ex.run(); }), 0);
}

TEST(Executor, BoundOutputIsWrittenIntoProvidedMemory) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {3, 4}});
  Var y = ops::tanh(a) * a;
  Tensor target(DType::F32, {3, 4});
  ExecutorOptions options;
  options.bound_outputs.push_back({0, target.ref()});
  ParameterStore params;
  Executor ex(compile(g, {y.value}), params, options);
  EXPECT_EQ(ex.output(0).data, target.raw());
  Tensor av = test::random_tensor(DType::F32, {3, 4}, 3);
  ex.set_input("a", av);
  ex.run();
  for (int64_t i = 0; i < 12; ++i) EXPECT_FLOAT_EQ(target.data<float>()[i], std::tanh(float(av.at(i))) * float(av.at(i)));
}

TEST(Executor, BoundOutputOfWrongTypeIsRefused) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {3, 4}});
  Var y = ops::tanh(a);
  Tensor wrong(DType::F32, {4, 3});
  ExecutorOptions options;
  options.bound_outputs.push_back({0, wrong.ref()});
  ParameterStore params;
  EXPECT_THROW(Executor(compile(g, {y.value}), params, options), GraphError);
}

// Two fetches of one value share a buffer; binding both would silently keep
// only the last binding, so it is refused.
TEST(Executor, BindingOneValueTwiceIsRefused) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {3, 4}});
  Var y = ops::tanh(a);
  Tensor t1(DType::F32, {3, 4}), t2(DType::F32, {3, 4});
  ExecutorOptions options;
  options.bound_outputs = {{0, t1.ref()}, {1, t2.ref()}};
  ParameterStore params;
  try {
    Executor ex(compile(g, {y.value, y.value}), params, options);
    FAIL() << "expected a GraphError";
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("bound output 1"), std::string::npos) << e.what();
  }
}

TEST(Executor, RunIndexCanBeSetForReproducibleRandomness) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {64}});
  Var y = ops::dropout(a, 0.5, 42);
  ParameterStore params;
  Executor ex(compile(g, {y.value}), params);
  Tensor ones(DType::F32, {64});
  for (int64_t i = 0; i < 64; ++i) ones.set(i, 1.0);
  ex.set_input("a", ones);
  ex.set_run_index(7);
  ex.run();
  Tensor first = ex.fetch(0);
  ex.run();  // index 8: another mask
  EXPECT_NE(test::max_abs_diff(first, ex.fetch(0)), 0.0);
  ex.set_run_index(7);
  ex.run();
  EXPECT_EQ(test::max_abs_diff(first, ex.fetch(0)), 0.0);
}

TEST(Executor, WrongFeedShapeNamesInputAndBothTypes) {
  Graph g;
  Var a = input(g, "tokens_in", {DType::F32, {2, 3}});
  ParameterStore params;
  Executor ex(compile(g, {ops::tanh(a).value}), params);
  try {
    ex.set_input("tokens_in", Tensor(DType::F32, {3, 2}));
    FAIL() << "expected GraphError";
  } catch (const GraphError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("tokens_in"), std::string::npos) << m;
    EXPECT_NE(m.find("f32[2,3]"), std::string::npos) << m;
    EXPECT_NE(m.find("f32[3,2]"), std::string::npos) << m;
  }
  EXPECT_THROW(ex.set_input("tokens_in", Tensor(DType::F64, {2, 3})), GraphError);
  EXPECT_THROW(ex.set_input("no_such_input", Tensor(DType::F32, {2, 3})), GraphError);
}

TEST(Executor, ParametersAreReadFromTheStore) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {2, 3}});
  Var w = parameter(g, "w", {DType::F32, {3}});
  ParameterStore params;
  params.declare_all(g);
  Executor ex(compile(g, {(x * w).value}), params);
  float* wp = params.value("w").ptr<float>();
  wp[0] = 1, wp[1] = 2, wp[2] = 3;
  ex.set_input("x", Tensor::from_f32({2, 3}, std::vector<float>{1, 1, 1, 2, 2, 2}));
  ex.run();
  EXPECT_EQ(ex.fetch(0).to_vector(), (std::vector<double>{1, 2, 3, 2, 4, 6}));
  wp[1] = -1;  // updates in place are seen by the next run
  ex.run();
  EXPECT_EQ(ex.fetch(0).at(1), -1.0);
}

TEST(Executor, ParameterStoreLayoutChangeIsRefused) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {2}});
  Var w = parameter(g, "w", {DType::F32, {2}});
  ParameterStore params;
  params.declare_all(g);
  Executor ex(compile(g, {(x + w).value}), params);
  ex.set_input("x", Tensor(DType::F32, {2}));
  ex.run();
  params.declare("another", {5});  // reallocates: the executor's pointers are stale
  EXPECT_THROW(ex.run(), GraphError);
}

TEST(Executor, MissingParameterIsRefusedAtConstruction) {
  Graph g;
  Var w = parameter(g, "w", {DType::F32, {2}});
  ParameterStore params;  // nothing declared
  EXPECT_THROW(Executor(compile(g, {ops::tanh(w).value}), params), GraphError);
}

}  // namespace
}  // namespace loom
