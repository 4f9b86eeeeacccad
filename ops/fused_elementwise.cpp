// fused_elementwise: a chain of elementwise ops run as one loop. The fusion
// pass (graph/passes/fuse_elementwise.cpp) writes the chain as a small program
// in attrs (graph/passes/fused_program.hpp); this kernel runs all of its
// instructions over one cache-sized block before moving to the next, with the
// member ops' own block functions, so intermediates stay in L1 (on the stack).
// Every input and every intermediate has the output's shape or one element.
// It is created by the compiler after differentiation: no gradient rule.
#include <algorithm>
#include <type_traits>

#include "graph/passes/fused_program.hpp"
#include "ops/families.hpp"
#include "ops/op_util.hpp"

namespace loom {
namespace {

constexpr int64_t kBlock = 256;
constexpr int kMaxOperands = fused::kMaxInputs + fused::kMaxInstrs;

template <class T>
using BlockFn = void (*)(const T*, const T*, T*, int64_t, const Attrs&);

// The program decoded once per step, with block functions for the step's dtype.
struct FusedState : OpState {
  std::vector<fused::Instr> program;
  std::vector<BlockFn<float>> f32;
  std::vector<BlockFn<double>> f64;
};

// Simulates the program with the members' shape rules, so verify() re-derives
// exactly what the unfused chain would have produced.
std::vector<TensorType> infer_fused(std::span<const TensorType> in, const Attrs& a) {
  if (in.empty() || in.size() > size_t(fused::kMaxInputs))
    throw ShapeError("fused_elementwise: takes 1.." + std::to_string(fused::kMaxInputs) + " inputs, got " +
                     std::to_string(in.size()));
  std::vector<fused::Instr> program = fused::decode(a, in.size());
  if (program.size() > size_t(fused::kMaxInstrs)) throw ShapeError("fused_elementwise: too many instructions");
  std::vector<TensorType> types(in.begin(), in.end());
  static const Attrs kNone;
  for (const fused::Instr& i : program) {
    if (i.op >= registry().size() || !op_def(i.op).has(kElementwise) || !op_def(i.op).block_f32 ||
        !op_def(i.op).block_f64)
      throw ShapeError("fused_elementwise: instruction op " + std::to_string(i.op) + " is not a fusible elementwise op");
    std::vector<TensorType> args{types[size_t(i.a)]};
    if (i.b >= 0) args.push_back(types[size_t(i.b)]);
    if (size_t(op_def(i.op).arity) != args.size())
      throw ShapeError("fused_elementwise: op '" + op_def(i.op).name + "' given the wrong number of operands");
    types.push_back(op_def(i.op).infer(args, kNone).at(0));
  }
  const TensorType& out = types.back();
  for (const TensorType& t : types)
    if (t.dtype != out.dtype || (t.shape.numel() != 1 && !(t.shape == out.shape)))
      throw ShapeError("fused_elementwise: operand " + t.str() + " is neither " + out.str() + " nor one element");
  return {out};
}

std::unique_ptr<OpState> prepare_fused(const PrepareCtx& c) {
  auto s = std::make_unique<FusedState>();
  s->program = fused::decode(c.attrs, c.in.size());
  for (const fused::Instr& i : s->program) {
    s->f32.push_back(op_def(i.op).block_f32);
    s->f64.push_back(op_def(i.op).block_f64);
  }
  return s;
}

template <class T>
const std::vector<BlockFn<T>>& block_fns(const FusedState& s) {
  if constexpr (std::is_same_v<T, float>) return s.f32;
  else return s.f64;
}

// ins: each (n) or (1)   out: (n). Per block: broadcast single-element inputs
// once per thread, then run every instruction; the last writes into out.
template <class T>
void fused_typed(const KernelCtx& c, const FusedState& s) {
  const std::vector<BlockFn<T>>& fns = block_fns<T>(s);
  const int n_in = int(c.in.size()), n_instr = int(s.program.size());
  T* y = c.out[0].ptr<T>();
  const int64_t n = c.out[0].numel(), blocks = (n + kBlock - 1) / kBlock;
  static const Attrs kNone;
#pragma omp parallel if (opu::worth_parallel(n))
  {
    alignas(64) T scratch[kMaxOperands][kBlock];
    const T* operand[kMaxOperands];
    for (int k = 0; k < n_in; ++k)
      if (c.in[size_t(k)].numel() != n) std::fill_n(scratch[k], kBlock, c.in[size_t(k)].ptr<T>()[0]);
#pragma omp for schedule(static)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t i0 = blk * kBlock, m = std::min(kBlock, n - i0);
      for (int k = 0; k < n_in; ++k)
        operand[k] = c.in[size_t(k)].numel() == n ? c.in[size_t(k)].ptr<T>() + i0 : scratch[k];
      for (int j = 0; j < n_instr; ++j) {
        const fused::Instr& in = s.program[size_t(j)];
        T* dst = j == n_instr - 1 ? y + i0 : scratch[n_in + j];
        fns[size_t(j)](operand[in.a], in.b >= 0 ? operand[in.b] : nullptr, dst, m, kNone);
        operand[n_in + j] = dst;
      }
    }
  }
}

void fused_forward(const KernelCtx& c) {
  const auto& s = static_cast<const FusedState&>(*c.state);
  opu::dispatch_float(c.out[0].dtype(), [&]<class T>() { fused_typed<T>(c, s); });
}

}  // namespace

void register_fused_ops(Registry& r) {
  // In place is safe: block k reads inputs only at block k's positions before
  // the last instruction writes them.
  r.add(opu::gradient_free_op(fused::kOpName, -1, kInplaceOk, {infer_fused, fused_forward, prepare_fused},
                              "created by the compiler after differentiation; differentiate the unfused ops"));
}

}  // namespace loom
