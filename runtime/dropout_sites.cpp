#include "runtime/dropout_sites.hpp"

#include "ops/ops.hpp"

namespace loom::runtime {

uint64_t mix_seed(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

Var DropoutSites::apply(Var x) {
  if (p_ <= 0.0) return x;
  return ops::dropout(x, p_, mix_seed(base_ + mix_seed(next_site_++)));
}

uint64_t shape_dropout_seed(uint64_t model_seed, uint64_t shape_bits) {
  return mix_seed(model_seed ^ mix_seed(shape_bits));
}

}  // namespace loom::runtime
