#include "optim/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace loom::optim {

LrSchedule::LrSchedule(ScheduleConfig config) : cfg_(std::move(config)) {
  const std::string& k = cfg_.kind;
  if (k != "constant" && k != "warmup" && k != "inverse_sqrt" && k != "cosine" && k != "plateau")
    throw std::invalid_argument("unknown lr schedule '" + k +
                                "' (known: constant, warmup, inverse_sqrt, cosine, plateau)");
  if (k == "cosine" && cfg_.total_steps <= 0)
    throw std::invalid_argument("the cosine schedule needs total_steps > 0");
}

double LrSchedule::lr(int64_t step) const {
  const double base = cfg_.base_lr;
  const double s = double(step + 1), w = double(cfg_.warmup_steps);
  double ramp = w > 0 && s < w ? s / w : 1.0;
  if (cfg_.kind == "warmup") return base * ramp;
  if (cfg_.kind == "inverse_sqrt") return s < w ? base * ramp : base * std::sqrt(std::max(w, 1.0) / s);
  if (cfg_.kind == "cosine") {
    if (s < w) return base * ramp;
    double t = std::min(1.0, (s - w) / std::max(1.0, double(cfg_.total_steps) - w));
    return cfg_.min_lr + (base - cfg_.min_lr) * 0.5 * (1 + std::cos(std::numbers::pi * t));
  }
  if (cfg_.kind == "plateau") return std::max(cfg_.min_lr, base * scale_);
  return base;
}

void LrSchedule::observe_validation(double loss) {
  if (cfg_.kind != "plateau") return;
  if (loss < best_) {
    best_ = loss;
    bad_epochs_ = 0;
    return;
  }
  if (++bad_epochs_ >= cfg_.plateau_patience) {
    scale_ *= cfg_.plateau_factor;
    bad_epochs_ = 0;
  }
}

void LrSchedule::restore_plateau(double scale, double best, int bad_epochs) {
  scale_ = scale;
  best_ = best;
  bad_epochs_ = bad_epochs;
}

}  // namespace loom::optim
