// Dropout in training graphs: each call site gets its own seed, derived from
// a base, so a graph built twice draws the same masks, and the executor's
// run index (the trainer's step) varies them from step to step. p = 0 adds
// no node. Every model builds its dropout through this, so one --seed fixes
// every mask of every model.
#pragma once
#include <cstdint>

#include "graph/builder.hpp"

namespace loom::runtime {

// splitmix64's finaliser: a well-mixed 64-bit hash of x, for deriving seeds.
uint64_t mix_seed(uint64_t x);

class DropoutSites {
 public:
  DropoutSites(double p = 0.0, uint64_t base_seed = 0) : p_(p), base_(base_seed) {}
  Var apply(Var x);

 private:
  double p_;
  uint64_t base_;
  uint64_t next_site_ = 0;
};

// The base seed of the dropout sites of one batch shape's training graph:
// masks differ between shapes and follow the model's seed.
uint64_t shape_dropout_seed(uint64_t model_seed, uint64_t shape_bits);

}  // namespace loom::runtime
