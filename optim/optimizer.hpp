// Optimisers over a ParameterStore's flat buffers: an update is one parallel
// pass over all parameters at once (values, gradients and optimiser state
// share one layout). State can be saved and restored for exact resumption.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "graph/named_registry.hpp"
#include "graph/parameters.hpp"

namespace loom::optim {

struct OptimizerConfig {
  std::string kind = "adam";  // a name in optimizer_registry()
  double momentum = 0.9;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.0;  // L2 for sgd/momentum/adam; decoupled for adamw
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Applies one update with learning rate lr from the store's gradients.
  void step(ParameterStore& params, double lr) { step_scaled(params, lr, 1.0); }
  // The same with every gradient multiplied by grad_scale as it is read (the
  // gradient buffer is left as it was): clipping folded into the update.
  virtual void step_scaled(ParameterStore& params, double lr, double grad_scale) = 0;
  // Named state buffers (e.g. "m", "v"), each with the store's flat layout.
  virtual std::vector<std::pair<std::string, Tensor*>> state() = 0;
  int64_t steps_taken() const { return steps_; }
  void set_steps_taken(int64_t s) { steps_ = s; }

 protected:
  int64_t steps_ = 0;
};

using OptimizerRegistry = NamedRegistry<std::unique_ptr<Optimizer>, const OptimizerConfig&, const ParameterStore&>;

// Every optimiser kind, sorted by name: sgd, momentum, nesterov, adam, adamw,
// then any a program adds (examples/sign_sgd_optimizer.cpp).
OptimizerRegistry& optimizer_registry();

// optimizer_registry().make(config.kind, ...); throws std::invalid_argument
// naming the unknown kind and the known ones.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, const ParameterStore& params);

// Scales all gradients so their global L2 norm is at most max_norm; returns
// the norm before clipping. max_norm <= 0 only measures.
double clip_grad_norm(ParameterStore& params, double max_norm);

// clip_grad_norm then optimizer.step, in two passes over the gradients (the
// norm, then the update with the clipping scale applied as it reads them)
// instead of four; the same numbers up to rounding (an FMA may fuse the
// scaling), except that the gradient buffer keeps the unclipped values.
// max_norm <= 0: no clipping. Returns the norm; when it is not finite no
// update is applied at all, since one NaN would spread into every weight.
double clip_and_step(Optimizer& optimizer, ParameterStore& params, double max_norm, double lr);

}  // namespace loom::optim
