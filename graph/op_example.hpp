// The small f64 graph an op builds around itself so that its gradient rule can
// be checked (OpDef::example). It lives beside the op contract because every
// differentiable op must provide one; autograd/gradcheck.hpp runs the check.
#pragma once
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "graph/builder.hpp"

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

}  // namespace loom
