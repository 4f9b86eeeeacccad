#include "optim/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <memory>
#include <stdexcept>

namespace loom::optim {

namespace {

// The linear ramp from 0 over the warm-up steps (1 after it).
double ramp(const ScheduleConfig& c, int64_t step) {
  const double s = double(step + 1), w = double(c.warmup_steps);
  return w > 0 && s < w ? s / w : 1.0;
}

double constant_lr(const ScheduleConfig& c, int64_t) { return c.base_lr; }
double warmup_lr(const ScheduleConfig& c, int64_t step) { return c.base_lr * ramp(c, step); }

double inverse_sqrt_lr(const ScheduleConfig& c, int64_t step) {
  const double s = double(step + 1), w = double(c.warmup_steps);
  return s < w ? c.base_lr * ramp(c, step) : c.base_lr * std::sqrt(std::max(w, 1.0) / s);
}

double cosine_lr(const ScheduleConfig& c, int64_t step) {
  const double s = double(step + 1), w = double(c.warmup_steps);
  if (s < w) return c.base_lr * ramp(c, step);
  double t = std::min(1.0, (s - w) / std::max(1.0, double(c.total_steps) - w));
  return c.min_lr + (c.base_lr - c.min_lr) * 0.5 * (1 + std::cos(std::numbers::pi * t));
}

// A schedule that is a pure function of the config and the step.
class StepSchedule final : public Schedule {
 public:
  using Rule = double (*)(const ScheduleConfig&, int64_t);
  StepSchedule(const ScheduleConfig& config, Rule rule) : config_(config), rule_(rule) {}
  double lr(int64_t step) const override { return rule_(config_, step); }

 private:
  ScheduleConfig config_;
  Rule rule_;
};

// Reduce-on-plateau: the base rate, scaled by the factor after `patience`
// epochs without a better validation loss, never below min_lr.
class PlateauSchedule final : public Schedule {
 public:
  explicit PlateauSchedule(const ScheduleConfig& config) : config_(config) {}
  double lr(int64_t) const override { return std::max(config_.min_lr, config_.base_lr * scale_); }
  void observe_validation(double loss) override {
    if (loss < best_) {
      best_ = loss;
      bad_epochs_ = 0;
    } else if (++bad_epochs_ >= config_.plateau_patience) {
      scale_ *= config_.plateau_factor;
      bad_epochs_ = 0;
    }
  }
  std::map<std::string, double> state() const override {
    return {{"scale", scale_}, {"best", best_}, {"bad_epochs", double(bad_epochs_)}};
  }
  void restore(const std::map<std::string, double>& state) override {
    for (const char* key : {"scale", "best", "bad_epochs"})
      if (!state.count(key)) throw std::invalid_argument(std::string("plateau schedule state has no '") + key + "'");
    scale_ = state.at("scale");
    best_ = state.at("best");
    bad_epochs_ = int(state.at("bad_epochs"));
  }

 private:
  ScheduleConfig config_;
  double scale_ = 1.0;
  double best_ = 1e300;
  int bad_epochs_ = 0;
};

ScheduleRegistry::Factory step_kind(StepSchedule::Rule rule) {
  return [rule](const ScheduleConfig& c) -> std::unique_ptr<Schedule> { return std::make_unique<StepSchedule>(c, rule); };
}

}  // namespace

ScheduleRegistry& schedule_registry() {
  static ScheduleRegistry* registry = [] {
    auto* r = new ScheduleRegistry("lr schedule");  // never destroyed: used until exit
    r->add("constant", "the base rate throughout", step_kind(constant_lr));
    r->add("warmup", "a linear ramp over --warmup steps, then the base rate", step_kind(warmup_lr));
    r->add("inverse_sqrt", "the ramp, then base * sqrt(warmup / step)", step_kind(inverse_sqrt_lr));
    r->add("cosine", "the ramp, then a half cosine down to --min-lr at the last step",
           [](const ScheduleConfig& c) -> std::unique_ptr<Schedule> {
             if (c.total_steps <= 0) throw std::invalid_argument("the cosine schedule needs total_steps > 0");
             return std::make_unique<StepSchedule>(c, cosine_lr);
           });
    r->add("plateau", "the base rate, times --plateau-factor after --plateau-patience epochs without improvement",
           [](const ScheduleConfig& c) -> std::unique_ptr<Schedule> { return std::make_unique<PlateauSchedule>(c); });
    return r;
  }();
  return *registry;
}

LrSchedule::LrSchedule(const ScheduleConfig& config) : schedule_(schedule_registry().make(config.kind, config)) {}

}  // namespace loom::optim
