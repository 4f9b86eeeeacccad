// Learning-rate schedules: lr(step) for step = 0, 1, 2, ...; a schedule may
// also listen to validation losses (reduce-on-plateau). A schedule is an
// object with its own named state, saved with the training state and
// restored on resume as the optimiser's buffers are, so a new kind (a
// warm-restart or plateau variant of one's own) needs no field anywhere
// else: register a factory in schedule_registry() and it trains, resumes and
// shows in --help.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "graph/named_registry.hpp"

namespace loom::optim {

// The learning rate when none is given: one place, for every command and model.
inline constexpr double kDefaultLearningRate = 2e-3;

struct ScheduleConfig {
  std::string kind = "constant";  // a name in schedule_registry()
  double base_lr = kDefaultLearningRate;
  int64_t warmup_steps = 0;    // warmup, inverse_sqrt, cosine: linear ramp from 0
  int64_t total_steps = 0;     // cosine: the step where lr reaches min_lr
  double min_lr = 0.0;         // cosine floor, plateau floor
  double plateau_factor = 0.5; // plateau: lr *= factor ...
  int plateau_patience = 1;    // ... after this many epochs without improvement
};

class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual double lr(int64_t step) const = 0;
  // An epoch's validation loss (kinds that do not listen ignore it).
  virtual void observe_validation(double loss) {}
  // Everything lr() depends on besides the config and the step, by name
  // ("scale", "best", ...): saved in checkpoints, given back on resume.
  virtual std::map<std::string, double> state() const { return {}; }
  // Throws std::invalid_argument naming a missing entry.
  virtual void restore(const std::map<std::string, double>& state) {}
};

// The factory checks the config (throws std::invalid_argument naming the
// option at fault) and builds the kind's schedule.
using ScheduleRegistry = NamedRegistry<std::unique_ptr<Schedule>, const ScheduleConfig&>;
// constant, warmup, inverse_sqrt, cosine, plateau, then any a program adds.
ScheduleRegistry& schedule_registry();

// The schedule a config names: the registry's, or std::invalid_argument
// naming an unknown kind and the known ones.
class LrSchedule {
 public:
  explicit LrSchedule(const ScheduleConfig& config);
  double lr(int64_t step) const { return schedule_->lr(step); }
  void observe_validation(double loss) { schedule_->observe_validation(loss); }
  std::map<std::string, double> state() const { return schedule_->state(); }
  void restore(const std::map<std::string, double>& state) { schedule_->restore(state); }

 private:
  std::unique_ptr<Schedule> schedule_;
};

}  // namespace loom::optim
