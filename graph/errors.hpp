// Error types. User mistakes throw (ShapeError, GraphError, BackendError);
// broken internal invariants abort through LOOM_ASSERT with file:line.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace loom {

// A tensor shape or dtype does not satisfy an op's rule.
struct ShapeError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// A graph is malformed, or a feed or fetch does not match it.
struct GraphError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// oneDNN refused a primitive or an execution.
struct BackendError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace loom

#define LOOM_ASSERT(cond, msg)                                                               \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: internal error: %s (%s)\n", __FILE__, __LINE__, #cond,    \
                   std::string(msg).c_str());                                                \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)
