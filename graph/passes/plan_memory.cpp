#include "graph/plan.hpp"

namespace loom {

void assign_memory(Plan& plan) {
  plan.arena_bytes = {};
  for (Buffer& b : plan.buffers) {
    if (b.arena == Arena::Parameter) continue;
    size_t& top = plan.arena_bytes[size_t(b.arena)];
    b.offset = top;
    top += (b.bytes + kAlignment - 1) / kAlignment * kAlignment;
  }
}

}  // namespace loom
