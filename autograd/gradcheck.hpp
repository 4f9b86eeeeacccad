// Gradient checks in double precision. An OpExample (graph/op_example.hpp)
// is a small f64 graph around one op; check_gradients forms
// loss = Σ_k sum(R_k ⊙ out_k) with fixed random R_k, differentiates it
// symbolically, and compares each probed input element with a central
// difference (L(x+ε) − L(x−ε)) / 2ε.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "graph/op_example.hpp"
#include "graph/program.hpp"

namespace loom {

struct GradCheckOptions {
  int64_t max_elements_per_input = 64;  // probed elements, evenly spaced
  CompileOptions compile = CompileOptions::none();
};

struct GradCheckResult {
  bool ok = true;
  std::string worst_input;  // name of the input holding the worst element
  int64_t worst_index = -1;
  double analytic = 0, numeric = 0;
  double error = 0;  // |a − n| / max(1, |a|, |n|)
  double tolerance = 0;
  int64_t elements_checked = 0;
  std::string message;  // set when the check could not run (NaN, no gradient)
  std::string str() const;
};

GradCheckResult check_gradients(OpExample& ex, const GradCheckOptions& options = {});
// Builds the registered op's example and checks it.
GradCheckResult check_op_gradients(std::string_view op_name, const GradCheckOptions& options = {});

}  // namespace loom
