#include "train/divergence.hpp"

#include <cmath>

namespace loom::train {

bool looks_diverging(double loss, double best, double start) {
  if (!std::isfinite(loss)) return true;
  // Comparisons with a NaN or an infinite best are false: no best, no rise.
  const bool rose_clearly = loss - best > kDivergenceMargin;
  return rose_clearly && (loss > 2 * best || loss > start);
}

}  // namespace loom::train
