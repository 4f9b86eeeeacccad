// Executor: owns a plan's arenas, binds every buffer's pointer once, asks each
// step's op to prepare (oneDNN primitives, scratch), then runs steps in order.
// After the first run, run() allocates nothing (tests/test_executor.cpp).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "graph/parameters.hpp"
#include "graph/plan.hpp"
#include "graph/profiler.hpp"
#include "graph/shared_arena.hpp"

namespace loom {

struct ExecutorOptions {
  // Fetch i is written straight into this memory (for example a gradient in
  // the ParameterStore's grad buffer) instead of the transient arena.
  std::vector<std::pair<size_t, TensorRef>> bound_outputs;
  // Output `name` (compile with NamedValue) is delivered into this memory by
  // every run, whatever the plan made of it: written straight there when the
  // plan computes the value and no earlier binding took its buffer, else
  // copied after the run (the value is another output's too, or a parameter,
  // input or constant). The caller need not know which.
  std::vector<std::pair<std::string, TensorRef>> output_targets;
  // Transient values live here instead of in an arena of this executor's
  // own. The caller guarantees that no two executors sharing it run at the
  // same time, and that outputs are read before another one runs.
  SharedArena* transient_arena = nullptr;
  // Steps' working memory (KernelCtx::scratch), under the same guarantee.
  SharedArena* step_scratch = nullptr;
  // Called by run() with each output's index as soon as the output is final
  // where output(i) and the output targets read it and the rest of the run
  // no longer touches it: after the last step that computes or reads it, or
  // after the run's copies. A caller can start on early outputs while the
  // rest run, even change them in place (sum gradients over processes while
  // backward goes on).
  std::function<void(size_t output)> on_output_ready;
};

class Executor {
 public:
  // Every parameter of the plan must be declared in params with its shape.
  Executor(Plan plan, ParameterStore& params, ExecutorOptions options = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Copies t into the input named `name`; dtype and shape must match exactly.
  void set_input(std::string_view name, const Tensor& t);
  // Same, from a view.
  void set_input(std::string_view name, const TensorRef& t);
  void run();
  // Ops that draw random numbers (dropout) key them on the run index, which
  // counts runs from 0. A trainer sets it to the global step so that a resumed
  // run draws exactly the masks an uninterrupted one would.
  void set_run_index(uint64_t index) { run_index_ = index; }
  uint64_t run_index() const { return run_index_; }

  // While set, run() times every step into the profiler; null stops it.
  void set_profiler(StepProfiler* profiler) { profiler_ = profiler; }

  TensorRef output(size_t i) const;
  Tensor fetch(size_t i) const;
  // By the name given at compile time; throws GraphError naming the known ones.
  TensorRef output(std::string_view name) const { return output(output_index(name)); }
  Tensor fetch(std::string_view name) const { return fetch(output_index(name)); }
  size_t output_index(std::string_view name) const;
  const Plan& plan() const { return plan_; }
  size_t num_outputs() const { return plan_.output_buffers.size(); }

 private:
  struct BoundStep;
  struct OutputCopy {
    uint32_t buffer;
    TensorRef target;
  };
  void bind_buffers();
  void bind_output_targets(std::vector<uint32_t>& bound_buffers);
  void prepare_steps();
  void rebind_if_moved();
  SharedArena& scratch() { return options_.step_scratch ? *options_.step_scratch : own_scratch_; }
  void copy_outputs();
  void index_ready_outputs();

  Plan plan_;
  ParameterStore* params_;
  uint64_t params_version_;
  std::unique_ptr<BackendContext> backend_;  // before bound_: step states may refer to it
  ExecutorOptions options_;
  uint64_t arena_generation_ = 0;  // of options_.transient_arena when bound
  SharedArena own_scratch_;        // when options_.step_scratch is not given
  std::array<AlignedBuffer, 4> arenas_;
  std::vector<TensorRef> refs_;  // one per buffer
  std::vector<BoundStep> bound_;
  std::vector<OutputCopy> copies_;  // output_targets that could not be bound
  // Outputs final after step i (ready_after_[i]) and after the copies (the last row).
  std::vector<std::vector<size_t>> ready_after_;
  uint64_t run_index_ = 0;
  StepProfiler* profiler_ = nullptr;
};

}  // namespace loom
