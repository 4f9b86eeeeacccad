// Learning-rate schedules: lr(step) for step = 0, 1, 2, ...; reduce-on-plateau
// also listens to validation losses.
#pragma once
#include <cstdint>
#include <string>

namespace loom::optim {

struct ScheduleConfig {
  std::string kind = "constant";  // constant | warmup | inverse_sqrt | cosine | plateau
  double base_lr = 1e-3;
  int64_t warmup_steps = 0;    // warmup, inverse_sqrt, cosine: linear ramp from 0
  int64_t total_steps = 0;     // cosine: the step where lr reaches min_lr
  double min_lr = 0.0;         // cosine floor, plateau floor
  double plateau_factor = 0.5; // plateau: lr *= factor ...
  int plateau_patience = 1;    // ... after this many epochs without improvement
};

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
  double scale_ = 1.0;
  double best_ = 1e300;
  int bad_epochs_ = 0;
};

}  // namespace loom::optim
