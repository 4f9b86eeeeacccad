// Shape signatures for PlanCache keys (see plan_cache.hpp).
#include "graph/plan_cache.hpp"

namespace loom {

std::string shape_signature(std::initializer_list<std::pair<std::string_view, int64_t>> dims) {
  std::string s;
  for (const auto& [name, size] : dims) {
    if (!s.empty()) s += ',';
    s += std::string(name) + "=" + std::to_string(size);
  }
  return s;
}

}  // namespace loom
