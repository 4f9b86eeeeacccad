// PlanCache: one entry per shape signature, built once; hits and misses are
// counted; a cached executor keeps running for its own shapes.
#include "graph/plan_cache.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

using namespace loom;

TEST(PlanCache, SignatureListsDimsInOrder) {
  EXPECT_EQ(shape_signature({{"B", 32}, {"S", 20}, {"T", 18}}), "B=32,S=20,T=18");
  EXPECT_EQ(shape_signature({}), "");
}

TEST(PlanCache, CompilesOncePerSignature) {
  ParameterStore params;
  PlanCache cache;
  int compiles = 0;
  auto executor_for = [&](int64_t batch) -> Executor& {
    return cache.get(shape_signature({{"B", batch}}), [&] {
      ++compiles;
      Graph g;
      Var x = input(g, "x", {DType::F32, {batch, 4}});
      Var y = ops::tanh(x * 2.0);
      return std::make_unique<Executor>(compile(g, {y.value}), params);
    });
  };
  for (int64_t batch : {2, 3, 2, 2, 3, 5}) {
    Executor& ex = executor_for(batch);
    Tensor x = test::random_tensor(DType::F32, {batch, 4}, uint64_t(batch));
    ex.set_input("x", x);
    ex.run();
    Tensor y = ex.fetch(0);
    ASSERT_EQ(y.shape(), (Shape{batch, 4}));
    EXPECT_FLOAT_EQ(float(y.at(1)), std::tanh(float(x.at(1)) * 2.0f));
  }
  EXPECT_EQ(compiles, 3);
  EXPECT_EQ(cache.misses(), 3u);
  EXPECT_EQ(cache.hits(), 3u);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_TRUE(cache.contains("B=5"));
  EXPECT_FALSE(cache.contains("B=4"));
  EXPECT_EQ(&executor_for(2), &executor_for(2));  // the same object, not a copy
  EXPECT_EQ(cache.hits(), 5u);
}

TEST(PlanCache, HoldsAnyFactoryResult) {
  BasicPlanCache<std::string> cache;
  int made = 0;
  auto make = [&] {
    ++made;
    return std::make_unique<std::string>("plan " + std::to_string(made));
  };
  EXPECT_EQ(cache.get("S=10", make), "plan 1");
  EXPECT_EQ(cache.get("S=12", make), "plan 2");
  EXPECT_EQ(cache.get("S=10", make), "plan 1");
  EXPECT_EQ(made, 2);
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 2u);
  cache.clear();
  EXPECT_EQ(cache.get("S=10", make), "plan 3");
  EXPECT_EQ(cache.misses(), 3u);
}
