#include "optim/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace loom::optim {

namespace {

// The linear ramp from 0 over the warm-up steps (1 after it).
double ramp(const ScheduleConfig& c, int64_t step) {
  const double s = double(step + 1), w = double(c.warmup_steps);
  return w > 0 && s < w ? s / w : 1.0;
}

double constant_lr(const ScheduleConfig& c, int64_t, double) { return c.base_lr; }
double warmup_lr(const ScheduleConfig& c, int64_t step, double) { return c.base_lr * ramp(c, step); }

double inverse_sqrt_lr(const ScheduleConfig& c, int64_t step, double) {
  const double s = double(step + 1), w = double(c.warmup_steps);
  return s < w ? c.base_lr * ramp(c, step) : c.base_lr * std::sqrt(std::max(w, 1.0) / s);
}

double cosine_lr(const ScheduleConfig& c, int64_t step, double) {
  const double s = double(step + 1), w = double(c.warmup_steps);
  if (s < w) return c.base_lr * ramp(c, step);
  double t = std::min(1.0, (s - w) / std::max(1.0, double(c.total_steps) - w));
  return c.min_lr + (c.base_lr - c.min_lr) * 0.5 * (1 + std::cos(std::numbers::pi * t));
}

double plateau_lr(const ScheduleConfig& c, int64_t, double scale) { return std::max(c.min_lr, c.base_lr * scale); }

// The factory of a kind whose config needs no check.
ScheduleRegistry::Factory rule_of(double (*lr)(const ScheduleConfig&, int64_t, double),
                                  bool reduces_on_plateau = false) {
  return [=](const ScheduleConfig&) { return LrRule{lr, reduces_on_plateau}; };
}

}  // namespace

ScheduleRegistry& schedule_registry() {
  static ScheduleRegistry* registry = [] {
    auto* r = new ScheduleRegistry("lr schedule");  // never destroyed: used until exit
    r->add("constant", "the base rate throughout", rule_of(constant_lr));
    r->add("warmup", "a linear ramp over --warmup steps, then the base rate", rule_of(warmup_lr));
    r->add("inverse_sqrt", "the ramp, then base * sqrt(warmup / step)", rule_of(inverse_sqrt_lr));
    r->add("cosine", "the ramp, then a half cosine down to min_lr at total_steps",
           [](const ScheduleConfig& c) {
             if (c.total_steps <= 0) throw std::invalid_argument("the cosine schedule needs total_steps > 0");
             return LrRule{cosine_lr};
           });
    r->add("plateau", "the base rate, scaled down when validation stops improving", rule_of(plateau_lr, true));
    return r;
  }();
  return *registry;
}

LrSchedule::LrSchedule(ScheduleConfig config)
    : cfg_(std::move(config)), rule_(schedule_registry().make(cfg_.kind, cfg_)) {}

double LrSchedule::lr(int64_t step) const { return rule_.lr(cfg_, step, scale_); }

void LrSchedule::observe_validation(double loss) {
  if (!rule_.reduces_on_plateau) return;
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
