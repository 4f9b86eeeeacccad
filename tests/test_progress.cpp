// The progress line with a hand-driven clock: duration formatting, the text of
// the line, ETA from the smoothed rate, throttling on a terminal and on a pipe,
// messages between redraws and the final newline.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "train/progress.hpp"

using namespace loom::train;

namespace {

size_t count(const std::string& text, char c) { return size_t(std::count(text.begin(), text.end(), c)); }

struct FakeClock {
  double now = 0;
  ProgressClock fn() {
    return [this] { return now; };
  }
};

}  // namespace

TEST(Progress, FormatDuration) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(45), "45s");
  EXPECT_EQ(format_duration(59.4), "59s");
  EXPECT_EQ(format_duration(59.6), "1m00s");
  EXPECT_EQ(format_duration(252), "4m12s");
  EXPECT_EQ(format_duration(65), "1m05s");
  EXPECT_EQ(format_duration(3780), "1h03m");
  EXPECT_EQ(format_duration(3599.6), "1h00m");
  EXPECT_EQ(format_duration(100 * 3600 + 59), "100h01m");
  EXPECT_EQ(format_duration(-1), "--");
  EXPECT_EQ(format_duration(std::nan("")), "--");
}

TEST(Progress, LineTextAndEta) {
  // 2 epochs of 400 steps, resumed after 547 steps. One step in one second:
  // 1 step/s, 1830 tok/s, 800 - 548 = 252 steps left -> ETA 4m12s.
  FakeClock clock;
  std::ostringstream out;
  ProgressLine line(out, {.epochs = 2, .steps_per_epoch = 400, .steps_done = 547}, clock.fn());
  EXPECT_EQ(line.text(), "epoch 2/2  step 147/400  loss 0.000  -- tok/s  ETA --");
  clock.now = 1;
  line.update(2, 148, 3.214, 1830);
  EXPECT_EQ(out.str(), "epoch 2/2  step 148/400  loss 3.214  1830 tok/s  ETA 4m12s\n");
  EXPECT_DOUBLE_EQ(line.eta_seconds(), 252.0);
}

TEST(Progress, EtaNeverPassesTheTimeLimit) {
  // 1000 steps at 1 step/s would take 999 s more, but the run stops 60 s
  // after it started: 59 s are left after the first second.
  FakeClock clock;
  std::ostringstream out;
  ProgressLine line(out, {.epochs = 1, .steps_per_epoch = 1000, .time_limit_s = 60}, clock.fn());
  clock.now = 1;
  line.update(1, 1, 1.0, 10);
  EXPECT_DOUBLE_EQ(line.eta_seconds(), 59.0);
  clock.now = 70;  // past the limit: nothing left, never negative
  line.update(1, 2, 1.0, 10);
  EXPECT_DOUBLE_EQ(line.eta_seconds(), 0.0);
  // Without a limit the same rate gives the steps' ETA.
  ProgressLine open_ended(out, {.epochs = 1, .steps_per_epoch = 1000}, clock.fn());
  clock.now = 71;
  open_ended.update(1, 1, 1.0, 10);
  EXPECT_DOUBLE_EQ(open_ended.eta_seconds(), 999.0);
}

TEST(Progress, RateIsSmoothedIndependentlyOfUpdateCadence) {
  // Both lines see 1 step/s for one second, then 2 steps/s for 4 s; one is
  // told every second, the other every half second. With tau = 10 s the rate
  // moves from 1 towards 2 by 1 - exp(-4/10) in both.
  FakeClock ca, cb;
  std::ostringstream oa, ob;
  ProgressOptions options{.epochs = 1, .steps_per_epoch = 1000};
  ProgressLine a(oa, options, ca.fn()), b(ob, options, cb.fn());
  ca.now = cb.now = 1;
  a.update(1, 1, 1, 100);
  b.update(1, 1, 1, 100);
  for (int i = 1; i <= 4; ++i) {
    ca.now = 1 + i;
    a.update(1, 1 + 2 * i, 1, 200);
  }
  for (int i = 1; i <= 8; ++i) {
    cb.now = 1 + 0.5 * i;
    b.update(1, 1 + i, 1, 100);
  }
  const double expected = 1 + (1 - std::exp(-0.4)) * (2 - 1);
  EXPECT_NEAR(a.steps_per_second(), expected, 1e-12);
  EXPECT_NEAR(b.steps_per_second(), expected, 1e-12);
  EXPECT_NEAR(a.tokens_per_second(), 100 * expected, 1e-9);
  EXPECT_NEAR(a.eta_seconds(), (1000 - 9) / expected, 1e-9);
}

TEST(Progress, SameTickUpdatesWaitForTheClock) {
  FakeClock clock;
  std::ostringstream out;
  ProgressLine line(out, {.epochs = 1, .steps_per_epoch = 100}, clock.fn());
  line.update(1, 1, 1, 50);  // dt = 0: no rate yet
  EXPECT_TRUE(std::isnan(line.eta_seconds()));
  clock.now = 2;
  line.update(1, 2, 1, 50);  // 2 steps, 100 tokens in 2 s
  EXPECT_DOUBLE_EQ(line.steps_per_second(), 1.0);
  EXPECT_DOUBLE_EQ(line.tokens_per_second(), 50.0);
}

TEST(Progress, TerminalRedrawsAtMostFourTimesASecond) {
  FakeClock clock;
  std::ostringstream out;
  ProgressLine line(out, {.epochs = 1, .steps_per_epoch = 100, .tty = true}, clock.fn());
  for (int i = 1; i <= 16; ++i) {  // 8 updates a second for 2 s
    clock.now = 0.125 * i;
    line.update(1, i, 2.0, 10);
  }
  // Drawn at 0.125, 0.375, ..., 1.875: eight redraws, no newline yet.
  EXPECT_EQ(line.draws(), 8);
  EXPECT_EQ(count(out.str(), '\r'), 8u);
  EXPECT_EQ(count(out.str(), '\n'), 0u);
  line.finish();  // the update at 2.0 was not shown: one more draw, then the newline
  EXPECT_EQ(count(out.str(), '\r'), 9u);
  EXPECT_EQ(out.str().back(), '\n');
  EXPECT_NE(out.str().rfind("\repoch 1/1  step 16/100"), std::string::npos);
  line.finish();
  EXPECT_EQ(count(out.str(), '\n'), 1u);
}

TEST(Progress, PipeGetsPlainLinesEveryInterval) {
  FakeClock clock;
  std::ostringstream out;
  ProgressLine line(out, {.epochs = 1, .steps_per_epoch = 100, .tty = false, .plain_interval_s = 10}, clock.fn());
  for (int i = 1; i <= 25; ++i) {
    clock.now = i;
    line.update(1, i, 1.0, 10);
  }
  EXPECT_EQ(count(out.str(), '\n'), 3u);  // t = 1, 11, 21
  EXPECT_EQ(count(out.str(), '\r'), 0u);
  line.finish();
  EXPECT_EQ(count(out.str(), '\n'), 4u);
  EXPECT_NE(out.str().find("step 25/100"), std::string::npos);
}

TEST(Progress, LossIsTheMeanSinceTheLastDraw) {
  FakeClock clock;
  std::ostringstream out;
  ProgressLine line(out, {.epochs = 1, .steps_per_epoch = 100, .tty = true}, clock.fn());
  clock.now = 0.125;
  line.update(1, 1, 4.0, 10);  // drawn
  clock.now = 0.25;
  line.update(1, 2, 2.0, 10);  // throttled
  clock.now = 0.375;
  line.update(1, 3, 3.0, 10);  // drawn: mean of 2 and 3
  EXPECT_NE(out.str().find("loss 4.000"), std::string::npos);
  EXPECT_NE(out.str().find("loss 2.500"), std::string::npos);
  EXPECT_NE(line.text().find("loss 2.500"), std::string::npos);  // kept while nothing new arrived
}

TEST(Progress, ShorterRedrawBlanksTheLeftovers) {
  FakeClock clock;
  std::ostringstream out;
  ProgressLine line(out, {.epochs = 1, .steps_per_epoch = 100, .tty = true}, clock.fn());
  clock.now = 1;
  line.update(1, 1, 10.0, 10);  // "loss 10.000"
  size_t first = out.str().size();
  clock.now = 2;
  line.update(1, 2, 1.0, 10);   // "loss 1.000": one character shorter, padded
  EXPECT_EQ(out.str().size() - first, first);
  EXPECT_EQ(out.str().back(), ' ');
}

TEST(Progress, MessageOnTerminalKeepsTheLiveLine) {
  FakeClock clock;
  std::ostringstream out;
  ProgressLine line(out, {.epochs = 1, .steps_per_epoch = 100, .tty = true}, clock.fn());
  clock.now = 1;
  line.update(1, 1, 1.0, 10);
  line.message("valid loss 2.1  bleu 12.3");
  std::string s = out.str();
  size_t msg = s.find("\rvalid loss 2.1  bleu 12.3\n\repoch 1/1  step 1/100");
  EXPECT_NE(msg, std::string::npos) << s;
  line.finish();

  std::ostringstream pipe;
  ProgressLine plain(pipe, {.epochs = 1, .steps_per_epoch = 100}, clock.fn());
  plain.message("hello");
  EXPECT_EQ(pipe.str(), "hello\n");
}

TEST(Progress, RejectsEmptyPlans) {
  std::ostringstream out;
  EXPECT_THROW(ProgressLine(out, {.epochs = 0, .steps_per_epoch = 10}), std::invalid_argument);
  EXPECT_THROW(ProgressLine(out, {.epochs = 1, .steps_per_epoch = 0}), std::invalid_argument);
}
