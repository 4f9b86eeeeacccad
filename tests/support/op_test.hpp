// Helpers for op and pass tests: random tensors, running a graph once, and
// comparing tensors with the L2 relative error criterion.
#pragma once
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "autograd/gradcheck.hpp"
#include "graph/executor.hpp"

namespace loom::test {

using Feeds = std::vector<std::pair<std::string, Tensor>>;

Tensor random_tensor(DType dtype, Shape shape, uint64_t seed, double lo = -1.0, double hi = 1.0);
Tensor int_tensor(Shape shape, std::vector<int32_t> values);

// Compiles g for `outputs`, feeds every input, runs once, returns copies of the outputs.
// Parameters (if any) are filled uniform(-0.5, 0.5) from a fixed seed.
std::vector<Tensor> run_graph(const Graph& g, const std::vector<Var>& outputs, const Feeds& feeds,
                              const CompileOptions& options = {});

// ||a - b|| / max(||b||, tiny); shapes must match.
double rel_l2_error(const Tensor& a, const Tensor& b);
// Largest |a_i - b_i|.
double max_abs_diff(const Tensor& a, const Tensor& b);

// The message of the E that f() throws; a test failure if it throws none.
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return {};
}

// Nodes of g whose op is named `op` (pass tests).
int count_op(const Graph& g, std::string_view op);
// Every pass off except one (pass tests).
CompileOptions only(bool CompileOptions::*pass);

// gtest assertion: the registered op's f64 gradient check passes.
void expect_op_gradcheck(const std::string& op_name);

}  // namespace loom::test
