#include "tests/support/op_test.hpp"

#include <cmath>

namespace loom::test {

Tensor random_tensor(DType dtype, Shape shape, uint64_t seed, double lo, double hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, u(rng));
  return t;
}

Tensor int_tensor(Shape shape, std::vector<int32_t> values) { return Tensor::from_i32(shape, values); }

std::vector<Tensor> run_graph(const Graph& g, const std::vector<Var>& outputs, const Feeds& feeds,
                              const CompileOptions& options) {
  std::vector<Value> values;
  for (const Var& v : outputs) values.push_back(v.value);
  DType pdt = DType::F32;
  for (NodeId id : g.parameters()) pdt = g.node(id).outputs[0].dtype;
  ParameterStore params(pdt);
  params.declare_all(g);
  std::mt19937_64 rng(7);
  params.fill_uniform(rng, 0.5);
  Executor ex(compile(g, values, options), params);
  for (const auto& [name, t] : feeds) ex.set_input(name, t);
  ex.run();
  std::vector<Tensor> out;
  for (size_t i = 0; i < values.size(); ++i) out.push_back(ex.fetch(i));
  return out;
}

double rel_l2_error(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double num = 0, den = 0;
  for (int64_t i = 0; i < std::min(a.numel(), b.numel()); ++i) {
    double d = a.at(i) - b.at(i);
    num += d * d;
    den += b.at(i) * b.at(i);
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double m = 0;
  for (int64_t i = 0; i < std::min(a.numel(), b.numel()); ++i) m = std::max(m, std::abs(a.at(i) - b.at(i)));
  return m;
}

int count_op(const Graph& g, std::string_view op) {
  int n = 0;
  for (const Node& node : g.nodes()) n += op_def(node.op).name == op;
  return n;
}

CompileOptions only(bool CompileOptions::*pass) {
  CompileOptions o = CompileOptions::none();
  o.*pass = true;
  return o;
}

void expect_op_gradcheck(const std::string& op_name) {
  GradCheckResult r = check_op_gradients(op_name);
  std::printf("[gradcheck %s] %s\n", op_name.c_str(), r.str().c_str());
  EXPECT_TRUE(r.ok) << op_name << ": " << r.str();
}

}  // namespace loom::test
