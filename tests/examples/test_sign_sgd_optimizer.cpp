// The example optimiser (examples/sign_sgd_optimizer.cpp): registered by
// one call (examples/register_examples.cpp), listed with its help, and moving each weight by exactly lr
// against the sign of its (weight-decayed) gradient, padding untouched.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/support/registered.hpp"
#include "optim/optimizer.hpp"

namespace loom {
namespace {

TEST(SignSgdExample, IsRegisteredWithHelp) {
  ASSERT_TRUE(optim::optimizer_registry().contains("sign-sgd"));
  EXPECT_NE(optim::optimizer_registry().get("sign-sgd").help.find("sign"), std::string::npos);
}

TEST(SignSgdExample, MovesEachWeightByLrAgainstTheGradientSign) {
  for (DType dtype : {DType::F32, DType::F64}) {
    ParameterStore params(dtype);
    params.declare("w", {5});
    TensorRef w = params.value("w"), g = params.grad("w");
    const double start[5] = {0.5, -0.25, 1.0, 0.0, 2.0};
    const double grads[5] = {3.0, -0.001, 0.0, -7.0, 1e-6};
    for (int64_t i = 0; i < 5; ++i) {
      dtype == DType::F32 ? void(w.ptr<float>()[i] = float(start[i])) : void(w.ptr<double>()[i] = start[i]);
      dtype == DType::F32 ? void(g.ptr<float>()[i] = float(grads[i])) : void(g.ptr<double>()[i] = grads[i]);
    }
    optim::OptimizerConfig config;
    config.kind = "sign-sgd";
    auto opt = optim::make_optimizer(config, params);
    opt->step(params, 0.125);
    const double want[5] = {0.375, -0.125, 1.0, 0.125, 1.875};
    for (int64_t i = 0; i < 5; ++i) {
      double got = dtype == DType::F32 ? double(w.ptr<float>()[i]) : w.ptr<double>()[i];
      EXPECT_DOUBLE_EQ(got, want[i]) << dtype_name(dtype) << " element " << i;
    }
    EXPECT_EQ(opt->steps_taken(), 1);
    EXPECT_TRUE(opt->state().empty());
  }
}

}  // namespace
}  // namespace loom
