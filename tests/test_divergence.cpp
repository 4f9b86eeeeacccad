// The divergence warning's rule (train/divergence.hpp): a rise near zero is
// no divergence however large its ratio; a large rise is one when it doubles
// the best or passes the loss at the start; a loss that is not finite always
// is; the edges themselves do not count.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "train/divergence.hpp"

namespace loom::train {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kUntrained = 8.5;  // about ln(5000): a fresh model's loss over a 5000-word vocabulary

TEST(Divergence, AHealthyRunNearZeroIsNotDiverging) {
  // The run that printed "training is diverging" at 99.9% accuracy.
  EXPECT_FALSE(looks_diverging(0.0031, 0.0014, kUntrained));
  EXPECT_FALSE(looks_diverging(0.0031, 0.0014, kNaN));
  // Resumed from that model, so the earliest loss measured is tiny as well.
  EXPECT_FALSE(looks_diverging(0.0031, 0.0014, 0.0015));
  EXPECT_FALSE(looks_diverging(0.09, 0.001, kUntrained)) << "ninety times the best, but 0.089 nats";
}

TEST(Divergence, ARealDivergenceIs) {
  EXPECT_TRUE(looks_diverging(3.5, 1.2, kUntrained));
  EXPECT_TRUE(looks_diverging(3.5, 1.2, kNaN));
  EXPECT_TRUE(looks_diverging(0.5, 0.02, kUntrained)) << "from near zero, by far more than the margin";
}

// A slow climb back to where the model started: never twice the best.
TEST(Divergence, PassingTheLossAtTheStartIs) {
  EXPECT_TRUE(looks_diverging(8.6, 6.0, kUntrained));
  EXPECT_FALSE(looks_diverging(8.4, 6.0, kUntrained));
  EXPECT_FALSE(looks_diverging(8.6, 6.0, kNaN)) << "no start known: only the ratio";
  EXPECT_FALSE(looks_diverging(0.05, 0.01, 0.04)) << "above the start, but by less than the margin over the best";
}

TEST(Divergence, TheEdgesDoNotCount) {
  EXPECT_FALSE(looks_diverging(0.5, 0.25, kUntrained)) << "exactly twice the best";
  EXPECT_TRUE(looks_diverging(0.51, 0.25, kUntrained));
  EXPECT_FALSE(looks_diverging(0.149, 0.05, kUntrained)) << "three times the best, just under the margin";
  EXPECT_TRUE(looks_diverging(0.151, 0.05, kUntrained));
  EXPECT_FALSE(looks_diverging(kUntrained, 6.0, kUntrained)) << "exactly the loss at the start";
  EXPECT_FALSE(looks_diverging(1.0, 1.0, kUntrained)) << "no rise";
  EXPECT_FALSE(looks_diverging(0.5, 1.0, kUntrained)) << "a new best";
}

TEST(Divergence, BeforeTheFirstBestOnlyANonFiniteLossIs) {
  EXPECT_FALSE(looks_diverging(9.0, kInf, kUntrained));
  EXPECT_TRUE(looks_diverging(kNaN, kInf, kUntrained));
  EXPECT_TRUE(looks_diverging(kNaN, 1.2, kUntrained));
  EXPECT_TRUE(looks_diverging(kInf, 1.2, kUntrained));
}

}  // namespace
}  // namespace loom::train
