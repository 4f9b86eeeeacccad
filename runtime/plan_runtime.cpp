// The shared runtime of every model's batch plans (plan_runtime.hpp).
#include "runtime/plan_runtime.hpp"

#include <map>

#include "autograd/grad.hpp"
#include "graph/errors.hpp"

namespace loom::runtime {

PlanRuntime::PlanRuntime(ParameterStore& params) : params_(params) {}
PlanRuntime::~PlanRuntime() = default;

ParameterSource PlanRuntime::parameter_source(Graph& g) const {
  auto made = std::make_shared<std::map<std::string, Var>>();
  const ParameterStore* store = &params_;
  const DType dtype = params_.dtype();
  return [&g, made, store, dtype](const std::string& name, const Shape& shape) {
    auto it = made->find(name);
    if (it != made->end()) return it->second;
    const Shape& declared = store->entry(name).shape;  // throws GraphError naming a missing parameter
    if (!(declared == shape))
      throw ShapeError("parameter '" + name + "' is declared " + declared.str() + " but requested as " + shape.str());
    Var v = parameter(g, name, {dtype, shape});
    made->emplace(name, v);
    return v;
  };
}

CompileOptions PlanRuntime::batch_plan_options() const {
  CompileOptions options = options_;
  options.matmul_precision = precision_;
  return options;
}

Plan PlanRuntime::training_plan(const LossBuilder& build) const {
  Graph g;
  ParameterSource p = parameter_source(g);
  Var loss = build(g, p);
  const auto& entries = params_.entries();
  std::vector<Var> wrt;
  for (const auto& entry : entries) wrt.push_back(p(entry.name, entry.shape));
  const std::vector<Var> grads = grad(loss, wrt);
  std::vector<NamedValue> fetch{{"loss", loss.value}};
  for (size_t i = 0; i < entries.size(); ++i) fetch.push_back({"grad:" + entries[i].name, grads[i].value});
  return compile(g, fetch, batch_plan_options());
}

Plan PlanRuntime::evaluation_plan(const FetchBuilder& build) const {
  Graph g;
  return compile(g, build(g, parameter_source(g)), batch_plan_options());
}

ExecutorOptions PlanRuntime::shared_executor_options() const {
  ExecutorOptions options;
  options.transient_arena = transient_.get();
  options.step_scratch = scratch_.get();
  return options;
}

std::unique_ptr<Executor> PlanRuntime::make_training(const LossBuilder& build) {
  ExecutorOptions options = shared_executor_options();
  for (const auto& entry : params_.entries())
    options.output_targets.push_back({"grad:" + entry.name, params_.grad(entry.name)});
  Plan plan = training_plan(build);
  // Output o is "grad:<entry>" for entry_of[o]; the loss maps to no entry.
  std::map<std::string, size_t> entry_index;
  for (size_t i = 0; i < params_.entries().size(); ++i) entry_index["grad:" + params_.entries()[i].name] = i;
  std::vector<size_t> entry_of(plan.output_names.size(), SIZE_MAX);
  for (size_t o = 0; o < plan.output_names.size(); ++o)
    if (auto it = entry_index.find(plan.output_names[o]); it != entry_index.end()) entry_of[o] = it->second;
  options.on_output_ready = [this, entry_of](size_t output) {
    if (listener_ && entry_of[output] != SIZE_MAX) listener_(entry_of[output]);
  };
  return std::make_unique<Executor>(std::move(plan), params_, std::move(options));
}

std::unique_ptr<Executor> PlanRuntime::make_evaluation(const FetchBuilder& build) {
  return std::make_unique<Executor>(evaluation_plan(build), params_, shared_executor_options());
}

double PlanRuntime::run_training(Executor& exec, bool warm) {
  exec.set_run_index(run_index_++);
  // A plan's first run pays oneDNN's JIT and first-touch, not step cost.
  exec.set_profiler(warm ? profiler_ : nullptr);
  exec.run();
  return scalar_output(exec, "loss");
}

void PlanRuntime::set_compile_options(const CompileOptions& options) {
  options_ = options;
  training_.clear();
  evaluation_.clear();
}

double scalar_output(const Executor& exec, std::string_view name) {
  const TensorRef r = exec.output(name);
  return r.dtype() == DType::F64 ? r.ptr<double>()[0] : double(r.ptr<float>()[0]);
}

}  // namespace loom::runtime
