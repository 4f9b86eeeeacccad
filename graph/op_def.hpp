// The definition of one op: its name, arity, flags, shape rule, forward
// kernel (f32 and f64), optional plan-time preparation, and gradient rule.
// Every op, built-in or user-written, is one OpDef in the registry; passes,
// autograd, gradcheck and the executor know ops only through it.
#pragma once
#include "graph/shared_arena.hpp"
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "graph/attrs.hpp"
#include "graph/precision.hpp"
#include "graph/tensor.hpp"

namespace loom {

class ParameterStore;

using OpId = uint32_t;

enum OpFlags : uint32_t {
  kNoFlags = 0,
  kElementwise = 1u << 0,        // out[i] depends only on in[*][i] (after broadcasting)
  kInplaceOk = 1u << 1,          // out may share memory with in[0] when in[0] dies here
  kNonDifferentiable = 1u << 2,  // no gradient rule; OpDef::why_no_grad says why
  kLeaf = 1u << 3,               // input, parameter, constant: no kernel
  kStateful = 1u << 4,           // random or side effects: never CSE'd or constant-folded
};

class VjpCtx;      // graph/vjp.hpp
struct OpExample;  // graph/op_example.hpp

// Plan-time resources that the steps of one executor share, such as the
// oneDNN engine and stream. The executor only owns the slot; an op that needs
// a backend creates it on first use (ops/dnnl/context.hpp), so graph/ depends
// on no backend.
struct BackendContext {
  virtual ~BackendContext() = default;
};

// Plan-time state of one step (oneDNN primitives, scratch buffers).
struct OpState {
  virtual ~OpState() = default;
};

// What a kernel sees: pointers bound once at plan time, attributes, state.
struct KernelCtx {
  std::span<const TensorRef> in;
  std::span<const TensorRef> out;
  const Attrs& attrs;
  OpState* state;
  uint64_t run_index;  // increases by one per executor run (seeds dropout)
  // Working memory for the duration of this step only, as many bytes as the
  // op reserved in prepare (PrepareCtx::step_scratch); 64-byte aligned.
  std::byte* scratch = nullptr;
};

struct PrepareCtx {
  std::span<const TensorRef> in;
  std::span<const TensorRef> out;
  const Attrs& attrs;
  std::unique_ptr<BackendContext>& backend;  // empty until an op creates it
  // Reserve here what KernelCtx::scratch must hold. Every step of every plan
  // sharing it uses the same memory, one step at a time, so a plan with
  // many such steps (and a model with many plans) pays for the largest only.
  SharedArena& step_scratch;
  bool deterministic = false;  // CompileOptions::deterministic of the plan
  MatmulPrecision matmul_precision = MatmulPrecision::F32;  // the plan's (CompileOptions)
  // The executor's parameter store, and CompileOptions::pack_parameter_weights of the plan.
  const ParameterStore* params = nullptr;
  bool pack_parameter_weights = false;
};

// Shape rule: output types from input types; throws ShapeError with the rule violated.
using InferFn = std::vector<TensorType> (*)(std::span<const TensorType> in, const Attrs& attrs);
using KernelFn = void (*)(const KernelCtx& ctx);
using PrepareFn = std::unique_ptr<OpState> (*)(const PrepareCtx& ctx);
// Gradient rule: emits graph nodes computing input adjoints from output adjoints.
using VjpFn = void (*)(VjpCtx& ctx);

struct OpDef {
  std::string name;
  int arity = 1;  // number of inputs; -1 = variadic
  uint32_t flags = kNoFlags;
  InferFn infer = nullptr;
  KernelFn forward = nullptr;
  VjpFn vjp = nullptr;
  PrepareFn prepare = nullptr;  // optional
  std::string why_no_grad;      // required with kNonDifferentiable
  // Builds a small f64 graph around this op for `loom gradcheck`; required
  // for every differentiable op (a registry test enforces it).
  void (*example)(OpExample& ex) = nullptr;
  // Elementwise ops only: apply to a block of n elements; b is null for unary ops.
  // The fusion pass chains these over cache-sized blocks.
  void (*block_f32)(const float* a, const float* b, float* out, int64_t n, const Attrs&) = nullptr;
  void (*block_f64)(const double* a, const double* b, double* out, int64_t n, const Attrs&) = nullptr;

  // Ops that multiply matrices: FLOPs of their matrix products in one run,
  // from the input types (the profiler's GF/s column). Null for other ops.
  double (*gemm_flops)(std::span<const TensorType> in, const Attrs&) = nullptr;

  bool has(OpFlags f) const { return (flags & f) != 0; }
};

// The process-wide table of ops (graph/registry.cpp). It starts with the leaf
// ops (input, parameter, constant); the built-in families join it before main
// in every program that includes an ops/ header (ops/builtin_ops.hpp); users
// add theirs with register_op.
class Registry {
 public:
  OpId add(OpDef def);  // throws GraphError on a duplicate name or an incomplete def
  const OpDef& get(OpId id) const { return defs_[id]; }
  OpId find(std::string_view name) const;  // throws GraphError naming close matches
  bool contains(std::string_view name) const;
  size_t size() const { return defs_.size(); }
  std::span<const OpDef> all() const { return defs_; }

 private:
  std::vector<OpDef> defs_;
};

Registry& registry();
inline const OpDef& op_def(OpId id) { return registry().get(id); }
inline OpId register_op(OpDef def) { return registry().add(std::move(def)); }
inline OpId op_id(std::string_view name) { return registry().find(name); }

}  // namespace loom
