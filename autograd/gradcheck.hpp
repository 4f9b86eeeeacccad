// Gradient checks in double precision. An OpExample is a small f64 graph
// around one op (every differentiable op's OpDef builds one); check_gradients
// forms loss = Σ_k sum(R_k ⊙ out_k) with fixed random R_k, differentiates it
// symbolically, and compares each probed input element with a central
// difference (L(x+ε) − L(x−ε)) / 2ε.
#pragma once
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "graph/builder.hpp"
#include "graph/program.hpp"

namespace loom {

struct OpExample {
  OpExample() : rng(1234) {}
  OpExample(const OpExample&) = delete;

  Graph graph;
  std::vector<Var> outputs;                           // f64 outputs of the op
  std::vector<std::pair<std::string, Tensor>> feeds;  // a value for every input node
  std::vector<std::string> wrt;                       // inputs to differentiate
  double eps = 1e-6;
  double tolerance = 1e-6;
  std::mt19937_64 rng;

  // An f64 input with values uniform in [lo, hi), differentiated.
  Var random_input(const std::string& name, Shape shape, double lo = -1.0, double hi = 1.0);
  // An input that is fed but not differentiated (ids, lengths, masks).
  Var fixed_input(const std::string& name, Tensor value);
};

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
