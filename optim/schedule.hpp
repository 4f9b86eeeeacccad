// Learning-rate schedules: lr(step) for step = 0, 1, 2, ...; reduce-on-plateau
// also listens to validation losses. Each kind is an LrRule in
// schedule_registry(), chosen once when the schedule is built.
#pragma once
#include <cstdint>
#include <string>

#include "graph/named_registry.hpp"

namespace loom::optim {

struct ScheduleConfig {
  std::string kind = "constant";  // a name in schedule_registry()
  double base_lr = 1e-3;
  int64_t warmup_steps = 0;    // warmup, inverse_sqrt, cosine: linear ramp from 0
  int64_t total_steps = 0;     // cosine: the step where lr reaches min_lr
  double min_lr = 0.0;         // cosine floor, plateau floor
  double plateau_factor = 0.5; // plateau: lr *= factor ...
  int plateau_patience = 1;    // ... after this many epochs without improvement
};

// One kind of schedule: the rate at a step, given the config and the
// reduce-on-plateau scale (1 until validation losses lower it).
struct LrRule {
  double (*lr)(const ScheduleConfig& config, int64_t step, double plateau_scale) = nullptr;
  bool reduces_on_plateau = false;  // observe_validation lowers the scale
};

// The factory checks the config (throws std::invalid_argument naming the
// option at fault) and returns the kind's rule.
using ScheduleRegistry = NamedRegistry<LrRule, const ScheduleConfig&>;
// constant, warmup, inverse_sqrt, cosine, plateau, then any a program adds.
ScheduleRegistry& schedule_registry();

class LrSchedule {
 public:
  explicit LrSchedule(ScheduleConfig config);  // throws std::invalid_argument on an unknown kind
  double lr(int64_t step) const;
  // Reduce-on-plateau: report an epoch's validation loss. Other kinds ignore it.
  void observe_validation(double loss);
  // Plateau state, for checkpoints.
  double plateau_scale() const { return scale_; }
  void restore_plateau(double scale, double best, int bad_epochs);
  double best_validation() const { return best_; }
  int bad_epochs() const { return bad_epochs_; }

 private:
  ScheduleConfig cfg_;
  LrRule rule_;
  double scale_ = 1.0;
  double best_ = 1e300;
  int bad_epochs_ = 0;
};

}  // namespace loom::optim
