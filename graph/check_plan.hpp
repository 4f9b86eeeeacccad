// The verify mode: run a graph's optimised plan beside its unoptimised form
// (every pass off, one buffer per value) on the same feeds and parameters,
// and report every fetched value or gradient that differs.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "graph/parameters.hpp"
#include "graph/plan.hpp"

namespace loom {

struct PlanComparison {
  struct Mismatch {
    size_t output;          // index into the fetched values
    std::string node;       // Graph::describe of the value's node
    int64_t index;          // worst element
    double optimized, reference, error;
  };
  std::vector<Mismatch> mismatches;
  double worst_error = 0;  // |a − b| / (1 + |b|) over all outputs
  bool ok() const { return mismatches.empty(); }
  std::string str() const;
};

PlanComparison compare_with_unoptimized(const Graph& g, const std::vector<Value>& outputs,
                                        const std::vector<std::pair<std::string, Tensor>>& feeds,
                                        ParameterStore& params, const CompileOptions& optimized = {},
                                        double tolerance = 1e-5);

}  // namespace loom
