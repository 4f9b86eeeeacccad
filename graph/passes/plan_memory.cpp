// assign_memory: places every buffer of a lowered plan in its arena.
// Transient buffers: with options.reuse_in_place, a step whose op is
// kInplaceOk writes output 0 over input 0 when that input is transient, has
// the same byte size, and dies at this step (outputs never die: last_step is
// INT32_MAX). Buffers sharing memory form one group living over the union of
// their intervals [first_step, last_step]. With options.plan_memory, groups
// get offsets from a best-fit free list, swept in order of first step; a group
// is freed after its last reader. Otherwise each group gets its own slot.
// Input and constant buffers: one slot each. Every offset is 64-byte aligned.
#include <algorithm>
#include <map>
#include <numeric>
#include <queue>

#include "graph/plan.hpp"

namespace loom {
namespace {

size_t aligned(size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

// Free blocks keyed by offset; adjacent blocks are merged on release.
class BestFitArena {
 public:
  size_t allocate(size_t size) {
    auto best = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it)
      if (it->second >= size && (best == free_.end() || it->second < best->second)) best = it;
    if (best == free_.end()) {
      // Grow the arena, starting inside a free block at its end if there is one.
      size_t offset = top_;
      if (!free_.empty() && std::prev(free_.end())->first + std::prev(free_.end())->second == top_) {
        offset = std::prev(free_.end())->first;
        free_.erase(std::prev(free_.end()));
      }
      top_ = offset + size;
      return offset;
    }
    size_t offset = best->first, left = best->second - size;
    free_.erase(best);
    if (left) free_[offset + size] = left;
    return offset;
  }

  void release(size_t offset, size_t size) {
    auto next = free_.lower_bound(offset);
    if (next != free_.end() && offset + size == next->first) {
      size += next->second;
      next = free_.erase(next);
    }
    if (next != free_.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second == offset) {
        prev->second += size;
        return;
      }
    }
    free_[offset] = size;
  }

  size_t size() const { return top_; }

 private:
  std::map<size_t, size_t> free_;
  size_t top_ = 0;
};

// root[b]: the buffer whose memory b shares (itself unless written in place).
std::vector<uint32_t> in_place_roots(const Plan& plan) {
  std::vector<uint32_t> root(plan.buffers.size());
  std::iota(root.begin(), root.end(), 0u);
  if (!plan.options.reuse_in_place) return root;
  const Graph& g = plan.program.graph;
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    const Step& step = plan.steps[s];
    if (step.in.empty() || step.out.empty() || !op_def(g.node(step.node).op).has(kInplaceOk)) continue;
    const Buffer& src = plan.buffers[step.in[0]];
    const Buffer& dst = plan.buffers[step.out[0]];
    if (src.arena != Arena::Transient || dst.arena != Arena::Transient) continue;
    if (src.bytes != dst.bytes || src.bytes == 0 || src.last_step != int32_t(s)) continue;
    root[step.out[0]] = root[step.in[0]];
  }
  return root;
}

struct Group {
  uint32_t root;
  int32_t first, last;
  size_t bytes;
};

std::vector<Group> transient_groups(const Plan& plan, const std::vector<uint32_t>& root) {
  std::vector<int32_t> slot(plan.buffers.size(), -1);
  std::vector<Group> groups;
  for (uint32_t b = 0; b < plan.buffers.size(); ++b) {
    const Buffer& buf = plan.buffers[b];
    if (buf.arena != Arena::Transient) continue;
    int32_t last = std::max(buf.first_step, buf.last_step);  // never read: dies where it is written
    int32_t& g = slot[root[b]];
    if (g < 0) {
      g = int32_t(groups.size());
      groups.push_back({root[b], buf.first_step, last, aligned(buf.bytes)});
    } else {
      groups[size_t(g)].first = std::min(groups[size_t(g)].first, buf.first_step);
      groups[size_t(g)].last = std::max(groups[size_t(g)].last, last);
    }
  }
  return groups;
}

// Offsets by best fit over liveness; returns the arena size.
size_t place_best_fit(std::vector<Group>& groups, std::vector<size_t>& offset) {
  std::vector<size_t> order(groups.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return groups[a].first < groups[b].first; });
  BestFitArena arena;
  using Live = std::pair<int32_t, size_t>;  // (last step, group), soonest death on top
  std::priority_queue<Live, std::vector<Live>, std::greater<>> live;
  for (size_t gi : order) {
    const Group& g = groups[gi];
    while (!live.empty() && live.top().first < g.first) {
      arena.release(offset[live.top().second], groups[live.top().second].bytes);
      live.pop();
    }
    if (g.bytes == 0) continue;
    offset[gi] = arena.allocate(g.bytes);
    live.push({g.last, gi});
  }
  return arena.size();
}

}  // namespace

void assign_memory(Plan& plan) {
  plan.arena_bytes = {};
  for (Buffer& b : plan.buffers) {
    if (b.arena != Arena::Input && b.arena != Arena::Constant) continue;
    size_t& top = plan.arena_bytes[size_t(b.arena)];
    b.offset = top;
    top += aligned(b.bytes);
  }
  std::vector<uint32_t> root = in_place_roots(plan);
  std::vector<Group> groups = transient_groups(plan, root);
  std::vector<size_t> offset(groups.size(), 0);
  size_t& transient = plan.arena_bytes[size_t(Arena::Transient)];
  if (plan.options.plan_memory) {
    transient = place_best_fit(groups, offset);
  } else {
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      offset[gi] = transient;
      transient += groups[gi].bytes;
    }
  }
  std::vector<size_t> group_offset(plan.buffers.size(), 0);
  for (size_t gi = 0; gi < groups.size(); ++gi) group_offset[groups[gi].root] = offset[gi];
  for (uint32_t b = 0; b < plan.buffers.size(); ++b)
    if (plan.buffers[b].arena == Arena::Transient) plan.buffers[b].offset = group_offset[root[b]];
}

}  // namespace loom
