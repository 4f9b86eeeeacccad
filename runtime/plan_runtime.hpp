// PlanRuntime: the part of a model that runs graphs, the same for every model.
// A model builds the graph of one batch shape; the runtime compiles it once
// per shape key ("B=32,S=20,T=18"), keeps the executor, binds it to arenas
// shared by all of the model's batch plans (they run one at a time), delivers
// each parameter's gradient straight into the ParameterStore, tells a
// listener as soon as each gradient is final (data-parallel sums start while
// backward goes on), keys dropout on the trainer's step and times warm steps
// into a profiler. A warm step allocates nothing: the graph builder is only
// called, and a std::function only made, on a cache miss.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "graph/builder.hpp"
#include "graph/parameters.hpp"
#include "graph/plan.hpp"
#include "graph/plan_cache.hpp"
#include "graph/profiler.hpp"
#include "graph/shared_arena.hpp"

namespace loom::runtime {

// Returns the Var for the parameter `name` of shape `shape`: a parameter node
// in a model graph, an input in a gradient check.
using ParameterSource = std::function<Var(const std::string& name, const Shape& shape)>;

// Builds a training graph on g (inputs by name, parameters from p) and
// returns its scalar loss.
using LossBuilder = std::function<Var(Graph& g, const ParameterSource& p)>;
// Builds an evaluation or inference graph and returns the values to fetch.
using FetchBuilder = std::function<std::vector<NamedValue>(Graph& g, const ParameterSource& p)>;

// Feeds one batch into an executor (set_input by name).
using Feeder = std::function<void(Executor& exec)>;

class PlanRuntime {
 public:
  explicit PlanRuntime(ParameterStore& params);
  ~PlanRuntime();
  PlanRuntime(const PlanRuntime&) = delete;
  PlanRuntime& operator=(const PlanRuntime&) = delete;

  // Parameter nodes of g for the store's parameters, one node per name per
  // graph; a shape other than the declared one throws ShapeError.
  ParameterSource parameter_source(Graph& g) const;

  // The plan of a training step: fetches "loss" and "grad:<name>" for every
  // parameter of the store, in declaration order.
  Plan training_plan(const LossBuilder& build) const;
  Plan evaluation_plan(const FetchBuilder& build) const;

  // One training step on the plan cached under `key` (compiled from `build`
  // on the first request): `feed` sets the inputs, the run writes every
  // gradient into the store, and the loss comes back.
  template <class Build, class Feed>
  double train(const std::string& key, Build&& build, Feed&& feed) {
    const bool warm = training_.contains(key);
    Executor& exec = warm ? training_.get(key, {}) : training_.get(key, [&] { return make_training(build); });
    feed(exec);
    return run_training(exec, warm);
  }
  // A forward run of the evaluation plan under `key`; read its outputs from
  // the executor returned (valid until another plan of this model runs).
  template <class Build, class Feed>
  Executor& evaluate(const std::string& key, Build&& build, Feed&& feed) {
    Executor& exec = evaluation_.contains(key) ? evaluation_.get(key, {})
                                               : evaluation_.get(key, [&] { return make_evaluation(build); });
    feed(exec);
    exec.run();
    return exec;
  }

  // Options of every plan compiled from now on; drops the plans so far.
  void set_compile_options(const CompileOptions& options);
  const CompileOptions& compile_options() const { return options_; }
  // Matrix products of training and evaluation plans (a run option, not a
  // model's: decoding plans a model compiles itself stay f32).
  void set_matmul_precision(MatmulPrecision p) { precision_ = p; }
  MatmulPrecision matmul_precision() const { return precision_; }
  CompileOptions batch_plan_options() const;

  // Dropout masks of the next training run are keyed on this index; each run
  // takes the next one (a trainer sets its global step).
  void set_run_index(uint64_t index) { run_index_ = index; }
  // While set, warm training runs time their steps into it.
  void set_profiler(StepProfiler* profiler) { profiler_ = profiler; }
  // While set, called with the index in params().entries() of each
  // parameter as soon as its gradient is final.
  void set_gradient_listener(std::function<void(size_t entry)> listener) { listener_ = std::move(listener); }
  // Plans compiled and held (training and evaluation).
  size_t cached_plans() const { return training_.size() + evaluation_.size(); }
  ParameterStore& params() { return params_; }

  // The arenas the batch plans share, for executors a model binds itself
  // (decoding plans that run between batch plans).
  ExecutorOptions shared_executor_options() const;

 private:
  std::unique_ptr<Executor> make_training(const LossBuilder& build);
  std::unique_ptr<Executor> make_evaluation(const FetchBuilder& build);
  double run_training(Executor& exec, bool warm);

  ParameterStore& params_;
  CompileOptions options_;
  MatmulPrecision precision_ = MatmulPrecision::F32;
  uint64_t run_index_ = 0;
  StepProfiler* profiler_ = nullptr;
  std::function<void(size_t)> listener_;
  std::unique_ptr<SharedArena> transient_ = std::make_unique<SharedArena>();
  std::unique_ptr<SharedArena> scratch_ = std::make_unique<SharedArena>();
  PlanCache training_, evaluation_;
};

// The scalar an executor holds in output `name` (f32 or f64), as a double.
double scalar_output(const Executor& exec, std::string_view name);

}  // namespace loom::runtime
