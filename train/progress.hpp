// The live training progress line:
//   "epoch 2/10  step 340/1250  loss 3.214  1830 tok/s  ETA 4m12s"
// On a terminal it is redrawn in place with '\r' at most every tty_interval_s;
// on a pipe or file a plain line is printed every plain_interval_s. The loss
// shown is the mean over the updates since the last line drawn; throughput
// (steps/s and tokens/s) is an exponential moving average with a time
// constant, so the ETA is steady whatever the update rate, and a run with a
// time limit never shows an ETA past that limit. Time comes from an
// injectable clock, so tests drive it by hand.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace loom::train {

// Seconds on some monotonic scale; only differences matter.
using ProgressClock = std::function<double()>;
// std::chrono::steady_clock in seconds.
double steady_seconds();
// True when the C stream is a terminal (isatty on its descriptor).
bool is_terminal(std::FILE* stream);

// "45s", "4m12s", "1h03m" (rounded to the second, or the minute past an hour);
// "--" for a negative or non-finite duration.
std::string format_duration(double seconds);

struct ProgressOptions {
  int64_t epochs = 1;           // total epochs of the run
  int64_t steps_per_epoch = 1;  // > 0
  int64_t steps_done = 0;       // global steps already done when this run starts (resuming)
  bool tty = false;             // redraw in place instead of printing lines
  double tty_interval_s = 0.25; // at most 4 redraws per second
  double plain_interval_s = 10; // one line per 10 s on a pipe
  double rate_time_constant_s = 10;  // EMA time constant of the throughput
  double time_limit_s = 0;           // the run stops this long after the line starts; 0 = no limit
};

class ProgressLine {
 public:
  ProgressLine(std::ostream& out, ProgressOptions options, ProgressClock clock = steady_seconds);

  // After a training step: epoch is 1-based, step the steps finished in this
  // epoch (1..steps_per_epoch), loss that step's mean loss, tokens the target
  // tokens it processed. Draws when the throttle allows.
  void update(int64_t epoch, int64_t step, double loss, int64_t tokens);
  // Prints a message on its own line (a validation summary) without
  // garbling the live line; the live line is redrawn after it on a terminal.
  void message(std::string_view text);
  // Draws the last state once more and ends the line. Idempotent.
  void finish();

  // The text the next draw would show (no '\r', no newline).
  std::string text() const;
  // Seconds left at the smoothed step rate, at most the time limit's rest;
  // NaN until a rate is known.
  double eta_seconds() const;
  double tokens_per_second() const { return tokens_per_s_; }
  double steps_per_second() const { return steps_per_s_; }
  int64_t draws() const { return draws_; }

 private:
  void draw(double now);
  int64_t total_steps() const { return options_.epochs * options_.steps_per_epoch; }

  std::ostream& out_;
  ProgressOptions options_;
  ProgressClock clock_;
  int64_t epoch_ = 1, step_ = 0, done_ = 0;  // done_: global steps finished
  double start_time_ = 0;                    // clock when the line was made
  double rate_time_ = 0;                     // clock and steps at the last rate sample
  int64_t rate_done_ = 0;
  int64_t pending_tokens_ = 0;               // tokens since then
  double last_draw_time_ = 0;
  bool drawn_ = false, finished_ = false;
  double loss_sum_ = 0, last_loss_ = 0;
  int64_t loss_count_ = 0;
  double steps_per_s_ = 0, tokens_per_s_ = 0;
  bool have_rate_ = false;
  size_t last_width_ = 0;  // characters of the last in-place line, to blank leftovers
  int64_t draws_ = 0;
};

}  // namespace loom::train
