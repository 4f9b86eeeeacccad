#include "graph/executor.hpp"

#include <algorithm>
#include <cstring>

#include "graph/errors.hpp"

namespace loom {

struct Executor::BoundStep {
  KernelFn forward;
  std::vector<TensorRef> in, out;
  const Attrs* attrs;
  std::unique_ptr<OpState> state;
  NodeId node;
};

Executor::Executor(Plan plan, ParameterStore& params, ExecutorOptions options)
    : plan_(std::move(plan)), params_(&params), params_version_(0), options_(std::move(options)) {
  for (size_t a = 0; a < arenas_.size(); ++a)
    if (!(options_.transient_arena && Arena(a) == Arena::Transient))
      arenas_[a] = aligned_alloc_bytes(plan_.arena_bytes[a]);
  if (options_.transient_arena) {
    options_.transient_arena->reserve(plan_.arena_bytes[size_t(Arena::Transient)]);
    arena_generation_ = options_.transient_arena->generation();
  }
  bind_buffers();
  params_version_ = params.layout_version();
  prepare_steps();
  if (options_.on_output_ready) index_ready_outputs();
}

// An output is final after the last step that writes or reads its buffer:
// from then on the caller may change that memory (sum it in place with other
// processes') without the run noticing. One the copies read from or deliver,
// or one the plan does not compute, is final only after the copies.
void Executor::index_ready_outputs() {
  ready_after_.assign(plan_.steps.size() + 1, {});
  auto uses = [](const std::vector<uint32_t>& buffers, uint32_t b) {
    return std::find(buffers.begin(), buffers.end(), b) != buffers.end();
  };
  for (size_t o = 0; o < plan_.output_buffers.size(); ++o) {
    const uint32_t b = plan_.output_buffers[o];
    size_t after = plan_.steps.size();
    for (size_t i = 0; i < plan_.steps.size(); ++i)
      if (uses(plan_.steps[i].out, b) || uses(plan_.steps[i].in, b)) after = i;
    for (const OutputCopy& c : copies_)
      if (c.buffer == b) after = plan_.steps.size();
    ready_after_[after].push_back(o);
  }
}

Executor::~Executor() = default;

// Fed inputs stay where they are (this executor's input arena); only pointers
// into the moved transient memory, and the step states made from them, change.
void Executor::rebind_if_moved() {
  if (!options_.transient_arena || options_.transient_arena->generation() == arena_generation_) return;
  options_.transient_arena->reserve(plan_.arena_bytes[size_t(Arena::Transient)]);
  arena_generation_ = options_.transient_arena->generation();
  refs_.clear();
  copies_.clear();
  bound_.clear();
  bind_buffers();
  prepare_steps();
}

void Executor::bind_buffers() {
  const Graph& g = plan_.program.graph;
  std::byte* transient = options_.transient_arena ? options_.transient_arena->data()
                                                  : arenas_[size_t(Arena::Transient)].get();
  for (const Buffer& b : plan_.buffers) {
    TensorRef r{nullptr, b.type};
    if (b.arena == Arena::Parameter) {
      const std::string& name = g.node(b.value.node).name;
      ConstTensorRef p = params_->read_value(name);
      if (!(p.type == b.type))
        throw GraphError("parameter '" + name + "' is " + b.type.str() + " in the graph but " + p.type.str() +
                         " in the parameter store");
      // Binding is a read, not a write (so compiling a plan leaves other plans'
      // packed weights valid): steps only read parameter buffers, since only
      // transient buffers are ever reused in place (passes/plan_memory.cpp).
      r.data = const_cast<void*>(p.data);
    } else {
      r.data = (b.arena == Arena::Transient ? transient : arenas_[size_t(b.arena)].get()) + b.offset;
    }
    if (b.arena == Arena::Constant) std::memcpy(r.data, g.constant_value(b.value.node).raw(), b.bytes);
    refs_.push_back(r);
  }
  std::vector<uint32_t> bound_buffers;
  for (auto& [i, target] : options_.bound_outputs) {
    uint32_t b = plan_.output_buffers.at(i);
    if (std::find(bound_buffers.begin(), bound_buffers.end(), b) != bound_buffers.end())
      throw GraphError("bound output " + std::to_string(i) +
                       " is the same value as an output bound before it; bind one and copy to the other");
    bound_buffers.push_back(b);
    if (!(target.type == refs_[b].type))
      throw GraphError("bound output " + std::to_string(i) + " is " + refs_[b].type.str() + " but its target is " +
                       target.type.str());
    if (plan_.buffers[b].arena != Arena::Transient)
      throw GraphError("bound output " + std::to_string(i) + " is not computed by the plan");
    refs_[b].data = target.data;
  }
  bind_output_targets(bound_buffers);
}

void Executor::bind_output_targets(std::vector<uint32_t>& bound_buffers) {
  for (const auto& [name, target] : options_.output_targets) {
    uint32_t b = plan_.output_buffers[output_index(name)];
    if (!(target.type == plan_.buffers[b].type))
      throw GraphError("output '" + name + "' is " + plan_.buffers[b].type.str() + " but its target is " +
                       target.type.str());
    bool taken = std::find(bound_buffers.begin(), bound_buffers.end(), b) != bound_buffers.end();
    if (plan_.buffers[b].arena == Arena::Transient && !taken) {
      bound_buffers.push_back(b);
      refs_[b].data = target.data;
    } else {
      copies_.push_back({b, target});
    }
  }
}

void Executor::prepare_steps() {
  const Graph& g = plan_.program.graph;
  for (const Step& s : plan_.steps) {
    const Node& n = g.node(s.node);
    const OpDef& def = op_def(n.op);
    BoundStep bs{def.forward, {}, {}, &n.attrs, nullptr, s.node};
    for (uint32_t b : s.in) bs.in.push_back(refs_[b]);
    for (uint32_t b : s.out) bs.out.push_back(refs_[b]);
    if (def.prepare) {
      try {
        bs.state = def.prepare(PrepareCtx{bs.in, bs.out, n.attrs, backend_, scratch(), plan_.options.deterministic,
                                          plan_.options.matmul_precision, params_,
                                          plan_.options.pack_parameter_weights});
      } catch (const std::exception& e) {
        throw BackendError("preparing node " + g.describe(s.node) + ": " + e.what());
      }
    }
    bound_.push_back(std::move(bs));
  }
}

static void copy_checked(const Graph& g, const std::vector<Buffer>& buffers, const std::vector<TensorRef>& refs,
                         std::string_view name, const TensorRef& t) {
  for (size_t b = 0; b < buffers.size(); ++b) {
    if (buffers[b].arena != Arena::Input || g.node(buffers[b].value.node).name != name) continue;
    if (!(t.type == buffers[b].type))
      throw GraphError("input '" + std::string(name) + "' expects " + buffers[b].type.str() + ", got " + t.type.str());
    std::memcpy(refs[b].data, t.data, buffers[b].bytes);
    return;
  }
  // A fed input that dead-code elimination removed is fine only if it exists in no form.
  for (NodeId id : g.inputs())
    if (g.node(id).name == name) return;
  throw GraphError("the plan has no input named '" + std::string(name) + "'");
}

void Executor::set_input(std::string_view name, const Tensor& t) { set_input(name, t.ref()); }

void Executor::set_input(std::string_view name, const TensorRef& t) {
  copy_checked(plan_.program.graph, plan_.buffers, refs_, name, t);
}

void Executor::run() {
  if (params_->layout_version() != params_version_)
    throw GraphError("the parameter store changed layout after this executor was built; rebuild the executor");
  rebind_if_moved();
  const uint32_t first_row = profiler_ ? profiler_->rows_for(plan_) : 0;
  std::byte* const scratch_memory = scratch().data();
  for (size_t i = 0; i < bound_.size(); ++i) {
    BoundStep& s = bound_[i];
    const auto start = profiler_ ? StepProfiler::clock::now() : StepProfiler::clock::time_point{};
    try {
      s.forward(KernelCtx{s.in, s.out, *s.attrs, s.state.get(), run_index_, scratch_memory});
    } catch (const std::exception& e) {
      throw GraphError("while running node " + plan_.program.graph.describe(s.node) + ": " + e.what());
    }
    if (profiler_) profiler_->record(first_row + uint32_t(i), start, StepProfiler::clock::now());
    if (options_.on_output_ready)
      for (size_t o : ready_after_[i]) options_.on_output_ready(o);
  }
  copy_outputs();
  if (options_.on_output_ready)
    for (size_t o : ready_after_.back()) options_.on_output_ready(o);
  ++run_index_;
}

void Executor::copy_outputs() {
  for (const OutputCopy& c : copies_) std::memcpy(c.target.data, refs_[c.buffer].data, c.target.type.bytes());
}

size_t Executor::output_index(std::string_view name) const {
  const std::vector<std::string>& names = plan_.output_names;
  auto it = std::find(names.begin(), names.end(), name);
  if (it != names.end()) return size_t(it - names.begin());
  std::string known;
  for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
  throw GraphError("the plan has no output named '" + std::string(name) + "' (" +
                   (known.empty() ? std::string("its outputs are unnamed") : "outputs: " + known) + ")");
}

TensorRef Executor::output(size_t i) const { return refs_.at(plan_.output_buffers.at(i)); }

Tensor Executor::fetch(size_t i) const {
  TensorRef r = output(i);
  Tensor t(r.type);
  std::memcpy(t.raw(), r.data, t.bytes());
  return t;
}

}  // namespace loom
