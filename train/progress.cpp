// The training progress line (see progress.hpp). Throughput is folded into
// the moving average with weight 1 - exp(-dt/tau): updates every millisecond
// and updates every second then forget the past equally fast, and the first
// measurement (often slowed by plan compilation) fades within a few tau.
#include "train/progress.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <unistd.h>

namespace loom::train {

double steady_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

bool is_terminal(std::FILE* stream) { return stream != nullptr && ::isatty(::fileno(stream)) == 1; }

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--";
  char buf[48];
  long long total = std::llround(seconds);
  if (total < 60) {
    std::snprintf(buf, sizeof buf, "%llds", total);
  } else if (total < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", total / 60, total % 60);
  } else {
    long long minutes = std::llround(seconds / 60);
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", minutes / 60, minutes % 60);
  }
  return buf;
}

ProgressLine::ProgressLine(std::ostream& out, ProgressOptions options, ProgressClock clock)
    : out_(out), options_(options), clock_(std::move(clock)) {
  if (options_.epochs < 1 || options_.steps_per_epoch < 1)
    throw std::invalid_argument("ProgressLine: epochs (" + std::to_string(options_.epochs) + ") and steps_per_epoch (" +
                                std::to_string(options_.steps_per_epoch) + ") must be at least 1");
  done_ = options_.steps_done;
  rate_done_ = done_;
  epoch_ = 1 + done_ / options_.steps_per_epoch;
  step_ = done_ % options_.steps_per_epoch;
  start_time_ = clock_();
  rate_time_ = start_time_;
}

void ProgressLine::update(int64_t epoch, int64_t step, double loss, int64_t tokens) {
  const double now = clock_();
  epoch_ = epoch;
  step_ = step;
  done_ = (epoch - 1) * options_.steps_per_epoch + step;
  loss_sum_ += loss;
  ++loss_count_;
  pending_tokens_ += tokens;

  // Steps and tokens wait until the clock has moved, so dt is never 0.
  const double dt = now - rate_time_;
  if (dt > 0 && done_ > rate_done_) {
    const double step_rate = double(done_ - rate_done_) / dt;
    const double token_rate = double(pending_tokens_) / dt;
    const double alpha = have_rate_ ? 1 - std::exp(-dt / options_.rate_time_constant_s) : 1.0;
    steps_per_s_ += alpha * (step_rate - steps_per_s_);
    tokens_per_s_ += alpha * (token_rate - tokens_per_s_);
    have_rate_ = true;
    rate_time_ = now;
    rate_done_ = done_;
    pending_tokens_ = 0;
  }

  const double interval = options_.tty ? options_.tty_interval_s : options_.plain_interval_s;
  if (!drawn_ || now - last_draw_time_ >= interval) draw(now);
}

std::string ProgressLine::text() const {
  const double loss = loss_count_ > 0 ? loss_sum_ / double(loss_count_) : last_loss_;
  char buf[160];
  std::string rate = have_rate_ ? std::to_string(std::llround(tokens_per_s_)) : std::string("--");
  std::snprintf(buf, sizeof buf, "epoch %lld/%lld  step %lld/%lld  loss %.3f  %s tok/s  ETA %s",
                static_cast<long long>(epoch_), static_cast<long long>(options_.epochs),
                static_cast<long long>(step_), static_cast<long long>(options_.steps_per_epoch), loss, rate.c_str(),
                format_duration(eta_seconds()).c_str());
  return buf;
}

double ProgressLine::eta_seconds() const {
  if (!have_rate_ || steps_per_s_ <= 0) return std::numeric_limits<double>::quiet_NaN();
  double eta = double(std::max<int64_t>(0, total_steps() - done_)) / steps_per_s_;
  if (options_.time_limit_s > 0)
    eta = std::min(eta, std::max(0.0, start_time_ + options_.time_limit_s - rate_time_));
  return eta;
}

void ProgressLine::draw(double now) {
  std::string line = text();
  if (options_.tty) {
    // Spaces blank whatever a longer previous line left behind.
    size_t pad = last_width_ > line.size() ? last_width_ - line.size() : 0;
    out_ << '\r' << line << std::string(pad, ' ') << std::flush;
    last_width_ = line.size();
  } else {
    out_ << line << '\n' << std::flush;
  }
  if (loss_count_ > 0) last_loss_ = loss_sum_ / double(loss_count_);
  loss_sum_ = 0;
  loss_count_ = 0;
  last_draw_time_ = now;
  drawn_ = true;
  ++draws_;
}

void ProgressLine::message(std::string_view text) {
  if (options_.tty && drawn_ && !finished_) {
    out_ << '\r' << std::string(last_width_, ' ') << '\r' << text << '\n';
    last_width_ = 0;
    draw(clock_());
  } else {
    out_ << text << '\n' << std::flush;
  }
}

void ProgressLine::finish() {
  if (finished_) return;
  finished_ = true;
  if (loss_count_ > 0) draw(clock_());  // updates not shown yet
  if (options_.tty && drawn_) out_ << '\n' << std::flush;
}

}  // namespace loom::train
