#include "ops/openmp_waiting.hpp"

#include <unistd.h>

#include <cstdlib>

namespace loom {

void prefer_passive_openmp_waiting(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  if (setenv("OMP_WAIT_POLICY", "passive", 0) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure
}

}  // namespace loom
