// When a validation loss means that training is diverging. The rule was
// "more than twice the best so far", which near zero means nothing: a
// healthy run at 99.9% accuracy went from 0.0014 to 0.0031 nats per token
// and was told it was diverging. A ratio is only evidence when the rise is
// large in absolute terms too, so a warning now also needs the loss to have
// risen by more than kDivergenceMargin above the best.
#pragma once

namespace loom::train {

// Nats per token. A rise this large is a real loss of fit (the geometric
// mean of the probability given to the right token falls by e^0.1 ≈ 1.1);
// the healthy run above rose by 0.0017.
inline constexpr double kDivergenceMargin = 0.1;

// Whether the validation loss `loss` says training is diverging, given the
// best validation loss so far (`best`; infinity before the first) and the
// loss at the start of training (`start`: before any update, or the earliest
// one measured; NaN when not known). Diverging means either:
//   - the loss is not finite (NaN or infinity), even before a best exists;
//   - it exceeds the best by more than kDivergenceMargin, and it is either
//     more than twice the best or above the loss at the start: worse than
//     the model was before it learned anything, however slowly it got there.
// The margin applies to both, so a run resumed from a model already near
// zero, whose `start` is small, is not warned about by noise either.
// Exactly twice the best, or exactly the margin, does not count.
bool looks_diverging(double loss, double best, double start);

}  // namespace loom::train
