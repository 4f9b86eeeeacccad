#include "ops/builtin_ops.hpp"

#include "ops/families.hpp"

namespace loom::ops {

bool register_builtin_ops() {
  static const bool done = [] {
    register_builtin_families(registry());
    return true;
  }();
  return done;
}

}  // namespace loom::ops
