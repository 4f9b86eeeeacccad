#include "graph/check_plan.hpp"

#include <cmath>
#include <cstdio>

#include "graph/executor.hpp"

namespace loom {

static std::vector<Tensor> run_once(const Graph& g, const std::vector<Value>& outputs,
                                    const std::vector<std::pair<std::string, Tensor>>& feeds, ParameterStore& params,
                                    const CompileOptions& options) {
  Executor ex(compile(g, outputs, options), params);
  for (const auto& [name, t] : feeds) ex.set_input(name, t);
  ex.run();
  std::vector<Tensor> out;
  for (size_t i = 0; i < outputs.size(); ++i) out.push_back(ex.fetch(i));
  return out;
}

PlanComparison compare_with_unoptimized(const Graph& g, const std::vector<Value>& outputs,
                                        const std::vector<std::pair<std::string, Tensor>>& feeds,
                                        ParameterStore& params, const CompileOptions& optimized, double tolerance) {
  std::vector<Tensor> fast = run_once(g, outputs, feeds, params, optimized);
  std::vector<Tensor> slow = run_once(g, outputs, feeds, params, CompileOptions::none());
  PlanComparison cmp;
  for (size_t k = 0; k < outputs.size(); ++k) {
    PlanComparison::Mismatch worst{k, g.describe(outputs[k].node), -1, 0, 0, 0};
    for (int64_t i = 0; i < fast[k].numel(); ++i) {
      double a = fast[k].at(i), b = slow[k].at(i);
      double err = std::abs(a - b) / (1 + std::abs(b));
      if (std::isnan(a) != std::isnan(b)) err = INFINITY;
      if (err > worst.error || worst.index < 0) worst = {k, worst.node, i, a, b, err};
    }
    cmp.worst_error = std::max(cmp.worst_error, worst.error);
    if (worst.error > tolerance) cmp.mismatches.push_back(worst);
  }
  return cmp;
}

std::string PlanComparison::str() const {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s: worst relative difference %.3g", ok() ? "plans agree" : "PLANS DIFFER", worst_error);
  std::string s = buf;
  for (const Mismatch& m : mismatches) {
    std::snprintf(buf, sizeof buf, "\n  output %zu [%lld]: optimised %.9g vs unoptimised %.9g (error %.3g) at ", m.output,
                  (long long)m.index, m.optimized, m.reference, m.error);
    s += buf + m.node;
  }
  return s;
}

}  // namespace loom
