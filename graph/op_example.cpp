#include "graph/op_example.hpp"

namespace loom {

Var OpExample::random_input(const std::string& name, Shape shape, double lo, double hi) {
  Tensor t(DType::F64, shape);
  std::uniform_real_distribution<double> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, u(rng));
  feeds.emplace_back(name, t);
  wrt.push_back(name);
  return input(graph, name, t.type());
}

Var OpExample::fixed_input(const std::string& name, Tensor value) {
  TensorType type = value.type();
  feeds.emplace_back(name, std::move(value));
  return input(graph, name, type);
}

}  // namespace loom
