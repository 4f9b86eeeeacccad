#include "autograd/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <cstdio>

#include "autograd/grad.hpp"
#include "graph/errors.hpp"
#include "graph/executor.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"

namespace loom {

std::string GradCheckResult::str() const {
  char buf[256];
  if (!message.empty()) return "FAIL " + message;
  std::snprintf(buf, sizeof buf, "%s max_err=%.3g (tol %.1g) at %s[%lld]: analytic=%.10g numeric=%.10g (%lld elements)",
                ok ? "OK  " : "FAIL", error, tolerance, worst_input.c_str(), (long long)worst_index, analytic, numeric,
                (long long)elements_checked);
  return buf;
}

namespace {

Var weighted_loss(OpExample& ex) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::optional<Var> loss;
  for (const Var& out : ex.outputs) {
    if (out.dtype() != DType::F64) continue;
    Tensor r(DType::F64, out.shape());
    for (int64_t i = 0; i < r.numel(); ++i) r.set(i, u(ex.rng));
    Var term = ops::sum(out * constant(ex.graph, r));
    loss = loss ? *loss + term : term;
  }
  if (!loss) throw GraphError("gradcheck: the example has no f64 output");
  return *loss;
}

Tensor& feed_named(OpExample& ex, const std::string& name) {
  for (auto& [n, t] : ex.feeds)
    if (n == name) return t;
  throw GraphError("gradcheck: no feed named '" + name + "'");
}

double run_loss(Executor& exec, OpExample& ex) {
  for (auto& [name, t] : ex.feeds) exec.set_input(name, t);
  exec.run();
  return exec.output(0).ptr<double>()[0];
}

}  // namespace

GradCheckResult check_gradients(OpExample& ex, const GradCheckOptions& options) {
  GradCheckResult res;
  res.tolerance = ex.tolerance;
  Var loss = weighted_loss(ex);
  std::vector<Var> wrt;
  for (const std::string& name : ex.wrt) wrt.push_back({&ex.graph, {ex.graph.find(name), 0}});
  std::vector<Var> grads = grad(loss, wrt);
  std::vector<Value> fetch{loss.value};
  for (const Var& g : grads) fetch.push_back(g.value);
  ParameterStore params(DType::F64);
  params.declare_all(ex.graph);
  std::mt19937_64 prng(99);
  params.fill_uniform(prng, 1.0);
  Executor exec(compile(ex.graph, fetch, options.compile), params);

  double base = run_loss(exec, ex);
  if (!std::isfinite(base)) {
    res.ok = false;
    res.message = "the loss is not finite (" + std::to_string(base) + ")";
    return res;
  }
  std::vector<Tensor> analytic;
  for (size_t k = 0; k < grads.size(); ++k) analytic.push_back(exec.fetch(k + 1));

  for (size_t k = 0; k < ex.wrt.size(); ++k) {
    Tensor& x = feed_named(ex, ex.wrt[k]);
    int64_t n = x.numel(), step = std::max<int64_t>(1, n / options.max_elements_per_input);
    for (int64_t i = 0; i < n; i += step) {
      double orig = x.at(i);
      x.set(i, orig + ex.eps);
      double plus = run_loss(exec, ex);
      x.set(i, orig - ex.eps);
      double minus = run_loss(exec, ex);
      x.set(i, orig);
      double num = (plus - minus) / (2 * ex.eps), ana = analytic[k].at(i);
      double err = std::abs(ana - num) / std::max({1.0, std::abs(ana), std::abs(num)});
      if (!std::isfinite(ana) || !std::isfinite(num)) err = INFINITY;
      ++res.elements_checked;
      if (err > res.error || res.worst_index < 0) {
        res.error = err;
        res.worst_input = ex.wrt[k];
        res.worst_index = i;
        res.analytic = ana;
        res.numeric = num;
      }
    }
  }
  res.ok = res.error <= ex.tolerance;
  return res;
}

GradCheckResult check_op_gradients(std::string_view op_name, const GradCheckOptions& options) {
  const OpDef& def = op_def(op_id(op_name));
  if (def.has(kNonDifferentiable) || def.has(kLeaf))
    throw GraphError("op '" + def.name + "' is not differentiable: " + def.why_no_grad);
  if (!def.example) throw GraphError("op '" + def.name + "' has no gradient-check example");
  OpExample ex;
  def.example(ex);
  return check_gradients(ex, options);
}

}  // namespace loom
