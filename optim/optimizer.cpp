// SGD, momentum (heavy-ball and Nesterov), Adam and AdamW. Each update is one
// OpenMP loop over the flat buffers; padding between parameters holds zero
// gradients and stays zero. Clipping folds into the update as a gradient
// scale (clip_and_step), so a clipped step reads the gradients twice, not four times.
#include "optim/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace loom::optim {
namespace {

template <class F>
void for_each_float(ParameterStore& p, F&& f) {
  if (p.dtype() == DType::F32) f(static_cast<float*>(p.values_data()), static_cast<float*>(p.grads_data()));
  else f(static_cast<double*>(p.values_data()), static_cast<double*>(p.grads_data()));
}

class Sgd final : public Optimizer {
 public:
  explicit Sgd(const OptimizerConfig& c) : cfg_(c) {}
  void step_scaled(ParameterStore& params, double lr, double scale) override {
    const int64_t n = params.numel();
    const double wd = cfg_.weight_decay;
    for_each_float(params, [&](auto* w, auto* g) {
      using T = std::remove_pointer_t<decltype(w)>;
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n; ++i) w[i] -= lr * (g[i] * T(scale) + wd * w[i]);
    });
    ++steps_;
  }
  std::vector<std::pair<std::string, Tensor*>> state() override { return {}; }

 private:
  OptimizerConfig cfg_;
};

// v ← μ v + g;  heavy-ball: w ← w − lr v;  Nesterov: w ← w − lr (g + μ v).
class Momentum final : public Optimizer {
 public:
  Momentum(const OptimizerConfig& c, const ParameterStore& p, bool nesterov)
      : cfg_(c), nesterov_(nesterov), v_(p.dtype(), Shape{p.numel()}) {}
  void step_scaled(ParameterStore& params, double lr, double scale) override {
    const int64_t n = params.numel();
    const double mu = cfg_.momentum, wd = cfg_.weight_decay;
    for_each_float(params, [&](auto* w, auto* g) {
      using T = std::remove_pointer_t<decltype(w)>;
      T* v = v_.data<T>();
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        T gi = g[i] * T(scale) + T(wd) * w[i];
        v[i] = T(mu) * v[i] + gi;
        w[i] -= T(lr) * (nesterov_ ? gi + T(mu) * v[i] : v[i]);
      }
    });
    ++steps_;
  }
  std::vector<std::pair<std::string, Tensor*>> state() override { return {{"momentum", &v_}}; }

 private:
  OptimizerConfig cfg_;
  bool nesterov_;
  Tensor v_;
};

// Adam with bias correction; AdamW decays weights directly (w ← w − lr·λ·w).
class Adam final : public Optimizer {
 public:
  Adam(const OptimizerConfig& c, const ParameterStore& p, bool decoupled)
      : cfg_(c), decoupled_(decoupled), m_(p.dtype(), Shape{p.numel()}), v_(p.dtype(), Shape{p.numel()}) {}
  void step_scaled(ParameterStore& params, double lr, double scale) override {
    ++steps_;
    const int64_t n = params.numel();
    const double b1 = cfg_.beta1, b2 = cfg_.beta2, eps = cfg_.eps, wd = cfg_.weight_decay;
    const double c1 = 1 - std::pow(b1, double(steps_)), c2 = 1 - std::pow(b2, double(steps_));
    const double step_size = lr / c1, inv_sqrt_c2 = 1 / std::sqrt(c2);
    const bool decoupled = decoupled_;
    for_each_float(params, [&](auto* w, auto* g) {
      using T = std::remove_pointer_t<decltype(w)>;
      T *m = m_.data<T>(), *v = v_.data<T>();
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        T gs = g[i] * T(scale);
        T gi = decoupled ? gs : gs + T(wd) * w[i];
        if (decoupled) w[i] -= T(lr * wd) * w[i];
        m[i] = T(b1) * m[i] + T(1 - b1) * gi;
        v[i] = T(b2) * v[i] + T(1 - b2) * gi * gi;
        w[i] -= T(step_size) * m[i] / (std::sqrt(v[i]) * T(inv_sqrt_c2) + T(eps));
      }
    });
  }
  std::vector<std::pair<std::string, Tensor*>> state() override { return {{"adam_m", &m_}, {"adam_v", &v_}}; }

 private:
  OptimizerConfig cfg_;
  bool decoupled_;
  Tensor m_, v_;
};

// A fixed number of partial sums over fixed chunks, added in chunk order: the
// norm (and so the clipped update) is the same bits on any number of threads,
// where an OpenMP reduction clause would add per-thread partials.
double grad_norm(ParameterStore& params) {
  constexpr int kChunks = 64;
  const int64_t n = params.numel(), len = (n + kChunks - 1) / kChunks;
  double part[kChunks];
  for_each_float(params, [&](auto*, auto* g) {
#pragma omp parallel for schedule(static)
    for (int p = 0; p < kChunks; ++p) {
      double sq = 0;
      for (int64_t i = p * len; i < std::min(n, (p + 1) * len); ++i) sq += double(g[i]) * double(g[i]);
      part[p] = sq;
    }
  });
  double sq = 0;
  for (double v : part) sq += v;
  return std::sqrt(sq);
}

// The factor that brings the norm down to max_norm, or 1 when it is within.
double clip_scale(double norm, double max_norm) {
  return max_norm > 0 && norm > max_norm ? max_norm / (norm + 1e-6) : 1.0;
}

}  // namespace

OptimizerRegistry& optimizer_registry() {
  using Made = std::unique_ptr<Optimizer>;
  using Config = const OptimizerConfig&;
  using Store = const ParameterStore&;
  static OptimizerRegistry* registry = [] {
    auto* r = new OptimizerRegistry("optimizer");  // never destroyed: used until exit
    r->add("sgd", "w -= lr (g + wd w)", [](Config c, Store) -> Made { return std::make_unique<Sgd>(c); });
    r->add("momentum", "heavy-ball momentum: v = mu v + g, w -= lr v",
           [](Config c, Store p) -> Made { return std::make_unique<Momentum>(c, p, false); });
    r->add("nesterov", "Nesterov momentum: w -= lr (g + mu v)",
           [](Config c, Store p) -> Made { return std::make_unique<Momentum>(c, p, true); });
    r->add("adam", "Adam; weight decay joins the gradient (L2)",
           [](Config c, Store p) -> Made { return std::make_unique<Adam>(c, p, false); });
    r->add("adamw", "AdamW; weight decay decoupled from the gradient",
           [](Config c, Store p) -> Made { return std::make_unique<Adam>(c, p, true); });
    return r;
  }();
  return *registry;
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, const ParameterStore& params) {
  return optimizer_registry().make(config.kind, config, params);
}

double clip_grad_norm(ParameterStore& params, double max_norm) {
  const int64_t n = params.numel();
  const double norm = grad_norm(params), scale = clip_scale(norm, max_norm);
  if (scale != 1.0) {
    for_each_float(params, [&](auto*, auto* g) {
      using T = std::remove_pointer_t<decltype(g)>;
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n; ++i) g[i] *= T(scale);
    });
  }
  return norm;
}

double clip_and_step(Optimizer& optimizer, ParameterStore& params, double max_norm, double lr) {
  const double norm = grad_norm(params);
  if (std::isfinite(norm)) optimizer.step_scaled(params, lr, clip_scale(norm, max_norm));
  return norm;
}

}  // namespace loom::optim
