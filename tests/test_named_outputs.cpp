// Named outputs: an executor fetches by the name given at compile time, and
// delivers an output into caller memory whatever the plan made of it (a
// value shared by two outputs, a parameter the plan does not compute),
// without allocating once warm.
#include <cmath>
#include <string>

#include "graph/errors.hpp"
#include "ops/ops.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

std::string missing_output_message(const Graph& g, const std::vector<NamedValue>& outputs) {
  try {
    ParameterStore params;
    Executor ex(compile(g, outputs), params);
    (void)ex.output("missing");
  } catch (const GraphError& e) {
    return e.what();
  }
  return "no error";
}

TEST(NamedOutputs, FetchByNameMatchesFetchByPosition) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {2, 3}});
  Var y = ops::tanh(a), z = a * a;
  ParameterStore params;
  Executor ex(compile(g, std::vector<NamedValue>{{"y", y.value}, {"z", z.value}}), params);
  Tensor av = test::random_tensor(DType::F32, {2, 3}, 1);
  ex.set_input("a", av);
  ex.run();
  EXPECT_EQ(ex.output_index("z"), 1u);
  EXPECT_EQ(ex.fetch("z").to_vector(), ex.fetch(1).to_vector());
  EXPECT_NEAR(ex.fetch("y").at(4), std::tanh(av.at(4)), 1e-6);
}

TEST(NamedOutputs, UnknownNameListsTheKnownOnes) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {2}});
  std::string named = missing_output_message(g, {{"loss", ops::tanh(a).value}, {"other", (a + a).value}});
  EXPECT_NE(named.find("no output named 'missing'"), std::string::npos) << named;
  EXPECT_NE(named.find("outputs: loss, other"), std::string::npos) << named;

  ParameterStore params;
  Executor unnamed(compile(g, {ops::tanh(a).value}), params);
  try {
    (void)unnamed.fetch("loss");
    FAIL() << "expected a GraphError";
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("unnamed"), std::string::npos) << e.what();
  }
}

TEST(NamedOutputs, DuplicateOrEmptyNamesAreRefusedAtCompile) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {2}});
  EXPECT_THROW(compile(g, std::vector<NamedValue>{{"y", a.value}, {"y", ops::tanh(a).value}}), GraphError);
  EXPECT_THROW(compile(g, std::vector<NamedValue>{{"", a.value}}), GraphError);
}

// The LSTM's two bias gradients are one value: both targets must receive it.
TEST(NamedOutputs, TargetsOfOneSharedValueBothReceiveIt) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {3, 4}});
  Var y = ops::tanh(a);
  Tensor first(DType::F32, {3, 4}), second(DType::F32, {3, 4});
  ExecutorOptions options;
  options.output_targets = {{"first", first.ref()}, {"second", second.ref()}};
  ParameterStore params;
  Executor ex(compile(g, std::vector<NamedValue>{{"first", y.value}, {"second", y.value}}), params, options);
  EXPECT_EQ(ex.output("first").data, first.raw());  // the first is written in place
  Tensor av = test::random_tensor(DType::F32, {3, 4}, 2);
  ex.set_input("a", av);
  ex.run();
  for (int64_t i = 0; i < 12; ++i) {
    EXPECT_FLOAT_EQ(first.data<float>()[i], std::tanh(float(av.at(i))));
    EXPECT_FLOAT_EQ(second.data<float>()[i], std::tanh(float(av.at(i))));
  }
  EXPECT_EQ(test::allocations_during([&] { ex.run(); }), 0);
}

// A value the plan does not compute (here a parameter) is copied after each run.
TEST(NamedOutputs, TargetOfAParameterIsCopiedAfterEveryRun) {
  Graph g;
  Var w = parameter(g, "w", {DType::F32, {3}});
  ParameterStore params;
  params.declare_all(g);
  Tensor target(DType::F32, {3});
  ExecutorOptions options;
  options.output_targets = {{"w", target.ref()}};
  Executor ex(compile(g, std::vector<NamedValue>{{"w", w.value}}), params, options);
  float* wp = params.value("w").ptr<float>();
  wp[0] = 1, wp[1] = 2, wp[2] = 3;
  ex.run();
  EXPECT_EQ(target.to_vector(), (std::vector<double>{1, 2, 3}));
  wp[2] = -4;
  ex.run();
  EXPECT_EQ(target.at(2), -4.0);
}

TEST(NamedOutputs, TargetOfTheWrongTypeIsRefusedNamingTheOutput) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {3, 4}});
  Tensor wrong(DType::F32, {4, 3});
  ExecutorOptions options;
  options.output_targets = {{"y", wrong.ref()}};
  ParameterStore params;
  try {
    Executor ex(compile(g, std::vector<NamedValue>{{"y", ops::tanh(a).value}}), params, options);
    FAIL() << "expected a GraphError";
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("output 'y'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace loom
