// A user-written optimiser, outside Loom's core: sign SGD,
//   w ← w − lr · sign(g + weight_decay · w),
// which moves every weight by exactly lr whatever the gradient's scale. This
// one file is all it takes, with one call of register_sign_sgd() from the
// program's main (examples/register_examples.cpp), so `loom train
// --optimizer sign-sgd` sees it. Its test is tests/examples/test_sign_sgd_optimizer.cpp.
#include <memory>

#include "examples/register_examples.hpp"
#include "optim/optimizer.hpp"

namespace loom::examples {
namespace {

class SignSgd final : public optim::Optimizer {
 public:
  explicit SignSgd(const optim::OptimizerConfig& config) : weight_decay_(config.weight_decay) {}

  // grad_scale is the clipping factor, applied as the gradients are read.
  void step_scaled(ParameterStore& params, double lr, double grad_scale) override {
    if (params.dtype() == DType::F32)
      update(static_cast<float*>(params.values_data()), static_cast<const float*>(params.grads_data()),
             params.numel(), lr, grad_scale);
    else
      update(static_cast<double*>(params.values_data()), static_cast<const double*>(params.grads_data()),
             params.numel(), lr, grad_scale);
    ++steps_;
  }
  std::vector<std::pair<std::string, Tensor*>> state() override { return {}; }

 private:
  template <class T>
  void update(T* w, const T* g, int64_t n, double lr, double grad_scale) const {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      T d = T(grad_scale) * g[i] + T(weight_decay_) * w[i];
      w[i] -= T(lr) * T((d > 0) - (d < 0));  // padding has d = 0 and stays put
    }
  }

  double weight_decay_;
};

}  // namespace

void register_sign_sgd() {
  if (optim::optimizer_registry().contains("sign-sgd")) return;
  optim::optimizer_registry().add(
      "sign-sgd", "sign SGD: every weight moves by lr against its gradient's sign (example)",
      [](const optim::OptimizerConfig& config, const ParameterStore&) -> std::unique_ptr<optim::Optimizer> {
        return std::make_unique<SignSgd>(config);
      });
}

}  // namespace loom::examples
