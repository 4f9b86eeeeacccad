// LSTM ops, PyTorch gate order (i, f, g, o):
//   lstm_cell          x h c w_ih w_hh b_ih b_hh        -> h' c' | gates
//   lstm_sequence      x lengths h0 c0 w_ih w_hh b_ih b_hh -> output h_n c_n | gates cells
//   lstm_cell_grad, lstm_sequence_grad: the companion backward ops.
// Outputs after "|" are saved for backward (activations (i,f,g,o) per step and
// the cell state per step); they are internal and cannot be differentiated.
// Kernels live in ops/lstm_kernels.hpp; this file holds shape rules, kernel
// bindings, gradient rules, gradient-check examples and the builders.
#include "ops/lstm.hpp"

#include "graph/op_example.hpp"
#include "graph/vjp.hpp"
#include "ops/families.hpp"
#include "ops/lstm_kernels.hpp"

namespace loom {
namespace {

using lstm::Dims;

// ---- shape rules -------------------------------------------------------------------
void require_shape(const char* op, const std::string& what, const TensorType& t, const Shape& want) {
  if (!(t.shape == want))
    throw ShapeError(std::string(op) + ": " + what + " must be " + want.str() + ", got " + t.str());
}

// Checks the float inputs shared by every LSTM op; x is (B,In) for a cell or
// (B,S,In) for a sequence. Biases are checked when given.
Dims check_lstm(const char* op, const TensorType& x, const TensorType& h0, const TensorType& c0,
                const TensorType& w_ih, const TensorType& w_hh, const TensorType* b_ih, const TensorType* b_hh,
                bool sequence) {
  int xrank = sequence ? 3 : 2;
  if (x.shape.rank() != xrank)
    throw ShapeError(std::string(op) + ": x must have rank " + std::to_string(xrank) +
                     (sequence ? " (B,S,In)" : " (B,In)") + ", got " + x.str());
  opu::require_float(x, "x");
  for (const TensorType* t : {&h0, &c0, &w_ih, &w_hh, b_ih, b_hh})
    if (t) opu::require_same_dtype(x, *t);
  if (h0.shape.rank() != 2) throw ShapeError(std::string(op) + ": h must be (B,H), got " + h0.str());
  Dims d{x.shape[0], sequence ? x.shape[1] : 1, x.shape[xrank - 1], h0.shape[1]};
  if (d.B < 1 || d.S < 1 || d.In < 1 || d.H < 1)
    throw ShapeError(std::string(op) + ": every dimension must be at least 1, got x " + x.str() + " h " + h0.str());
  std::string batch = " (B from x " + x.str() + ", H from h)";
  require_shape(op, "h (B,H)" + batch, h0, {d.B, d.H});
  require_shape(op, "c (B,H)" + batch, c0, {d.B, d.H});
  require_shape(op, "w_ih (4H,In)", w_ih, {d.G(), d.In});
  require_shape(op, "w_hh (4H,H)", w_hh, {d.G(), d.H});
  if (b_ih) require_shape(op, "b_ih (4H)", *b_ih, {d.G()});
  if (b_hh) require_shape(op, "b_hh (4H)", *b_hh, {d.G()});
  return d;
}

void check_lengths_type(const TensorType& lengths, const Dims& d) {
  if (lengths.dtype != DType::I32 || !(lengths.shape == Shape{d.B}))
    throw ShapeError("lstm_sequence: lengths must be i32[" + std::to_string(d.B) + "] (one per batch row), got " +
                     lengths.str());
}

// in: x h c w_ih w_hh b_ih b_hh
std::vector<TensorType> infer_cell(std::span<const TensorType> in, const Attrs&) {
  Dims d = check_lstm("lstm_cell", in[0], in[1], in[2], in[3], in[4], &in[5], &in[6], false);
  DType t = in[0].dtype;
  return {{t, {d.B, d.H}}, {t, {d.B, d.H}}, {t, {d.B, d.G()}}};
}

// in: x lengths h0 c0 w_ih w_hh b_ih b_hh
std::vector<TensorType> infer_sequence(std::span<const TensorType> in, const Attrs&) {
  Dims d = check_lstm("lstm_sequence", in[0], in[2], in[3], in[4], in[5], &in[6], &in[7], true);
  check_lengths_type(in[1], d);
  DType t = in[0].dtype;
  return {{t, {d.B, d.S, d.H}}, {t, {d.B, d.H}}, {t, {d.B, d.H}}, {t, {d.B, d.S, d.G()}}, {t, {d.B, d.S, d.H}}};
}

// Gradients have the forward inputs' types: dx dh0 dc0 dw_ih dw_hh db.
std::vector<TensorType> grad_types(const Dims& d, const TensorType& x, const TensorType& h0,
                                   const TensorType& w_ih, const TensorType& w_hh) {
  return {x, h0, h0, w_ih, w_hh, {x.dtype, {d.G()}}};
}

// in: x h c w_ih w_hh c' gates dh' dc'
std::vector<TensorType> infer_cell_grad(std::span<const TensorType> in, const Attrs&) {
  Dims d = check_lstm("lstm_cell_grad", in[0], in[1], in[2], in[3], in[4], nullptr, nullptr, false);
  require_shape("lstm_cell_grad", "c'", in[5], {d.B, d.H});
  require_shape("lstm_cell_grad", "gates", in[6], {d.B, d.G()});
  require_shape("lstm_cell_grad", "dh'", in[7], {d.B, d.H});
  require_shape("lstm_cell_grad", "dc'", in[8], {d.B, d.H});
  return grad_types(d, in[0], in[1], in[3], in[4]);
}

// in: x lengths h0 c0 w_ih w_hh output cells gates d_output d_hn d_cn
std::vector<TensorType> infer_sequence_grad(std::span<const TensorType> in, const Attrs&) {
  const char* op = "lstm_sequence_grad";
  Dims d = check_lstm(op, in[0], in[2], in[3], in[4], in[5], nullptr, nullptr, true);
  check_lengths_type(in[1], d);
  require_shape(op, "output", in[6], {d.B, d.S, d.H});
  require_shape(op, "cells", in[7], {d.B, d.S, d.H});
  require_shape(op, "gates", in[8], {d.B, d.S, d.G()});
  require_shape(op, "d_output", in[9], {d.B, d.S, d.H});
  require_shape(op, "d_h_n", in[10], {d.B, d.H});
  require_shape(op, "d_c_n", in[11], {d.B, d.H});
  return grad_types(d, in[0], in[2], in[4], in[5]);
}

// ---- plan-time preparation ------------------------------------------------------------
Dims dims_of(const TensorRef& x, const TensorRef& h) {
  const Shape& s = x.shape();
  return s.rank() == 3 ? Dims{s[0], s[1], s[2], h.shape()[1]} : Dims{s[0], 1, s[1], h.shape()[1]};
}
DnnlContext* dnnl_for(const PrepareCtx& c) {
  return c.in[0].dtype() == DType::F32 ? &dnnl_context(c) : nullptr;
}

std::unique_ptr<OpState> prepare_forward(const PrepareCtx& c, const Dims& d) {
  auto plan = lstm::make_forward_plan(d, dnnl_for(c), dtype_size(c.in[0].dtype()), c.matmul_precision);
  c.step_scratch.reserve(plan->scratch_bytes);
  return plan;
}
std::unique_ptr<OpState> prepare_cell(const PrepareCtx& c) {
  return prepare_forward(c, dims_of(c.in[0], c.in[1]));
}
std::unique_ptr<OpState> prepare_sequence(const PrepareCtx& c) {
  return prepare_forward(c, dims_of(c.in[0], c.in[2]));
}
std::unique_ptr<OpState> prepare_backward(const PrepareCtx& c, const Dims& d) {
  auto plan = lstm::make_backward_plan(d, dnnl_for(c), dtype_size(c.in[0].dtype()), c.matmul_precision);
  c.step_scratch.reserve(plan->scratch_bytes);
  return plan;
}
std::unique_ptr<OpState> prepare_cell_grad(const PrepareCtx& c) {
  return prepare_backward(c, dims_of(c.in[0], c.in[1]));
}
std::unique_ptr<OpState> prepare_sequence_grad(const PrepareCtx& c) {
  return prepare_backward(c, dims_of(c.in[0], c.in[2]));
}

// ---- kernels -----------------------------------------------------------------------------
template <class T> const T* in_ptr(const KernelCtx& c, int i) { return c.in[size_t(i)].ptr<T>(); }
template <class T> T* out_ptr(const KernelCtx& c, int i) { return c.out[size_t(i)].ptr<T>(); }

void cell_forward(const KernelCtx& c) {
  const auto& plan = static_cast<const lstm::ForwardPlan&>(*c.state);
  opu::dispatch_float(c.in[0].dtype(), [&]<class T>() {
    lstm::ForwardArgs<T> a{in_ptr<T>(c, 0), in_ptr<T>(c, 1), in_ptr<T>(c, 2), in_ptr<T>(c, 3), in_ptr<T>(c, 4), in_ptr<T>(c, 5),
                           in_ptr<T>(c, 6), nullptr, out_ptr<T>(c, 0), out_ptr<T>(c, 1), out_ptr<T>(c, 2), nullptr, nullptr};
    lstm::lstm_forward<T>(plan, a, c.scratch);
  });
}

void sequence_forward(const KernelCtx& c) {
  const auto& plan = static_cast<const lstm::ForwardPlan&>(*c.state);
  const int32_t* lengths = c.in[1].ptr<int32_t>();
  lstm::check_lengths(lengths, plan.d.B, plan.d.S);
  opu::dispatch_float(c.in[0].dtype(), [&]<class T>() {
    lstm::ForwardArgs<T> a{in_ptr<T>(c, 0), in_ptr<T>(c, 2), in_ptr<T>(c, 3), in_ptr<T>(c, 4), in_ptr<T>(c, 5), in_ptr<T>(c, 6),
                           in_ptr<T>(c, 7), lengths, out_ptr<T>(c, 0), out_ptr<T>(c, 4), out_ptr<T>(c, 3), out_ptr<T>(c, 1),
                           out_ptr<T>(c, 2)};
    lstm::lstm_forward<T>(plan, a, c.scratch);
  });
}

// A cell is a sequence of one step whose only output adjoints are dh', dc'.
void cell_grad_forward(const KernelCtx& c) {
  const auto& plan = static_cast<const lstm::BackwardPlan&>(*c.state);
  opu::dispatch_float(c.in[0].dtype(), [&]<class T>() {
    lstm::BackwardArgs<T> a{in_ptr<T>(c, 0), in_ptr<T>(c, 1), in_ptr<T>(c, 2), in_ptr<T>(c, 3), in_ptr<T>(c, 4),
                            nullptr, nullptr, in_ptr<T>(c, 5), in_ptr<T>(c, 6), nullptr, in_ptr<T>(c, 7), in_ptr<T>(c, 8),
                            out_ptr<T>(c, 0), out_ptr<T>(c, 1), out_ptr<T>(c, 2), out_ptr<T>(c, 3), out_ptr<T>(c, 4),
                            out_ptr<T>(c, 5)};
    lstm::lstm_backward<T>(plan, a, c.scratch);
  });
}

void sequence_grad_forward(const KernelCtx& c) {
  const auto& plan = static_cast<const lstm::BackwardPlan&>(*c.state);
  const int32_t* lengths = c.in[1].ptr<int32_t>();
  lstm::check_lengths(lengths, plan.d.B, plan.d.S);
  opu::dispatch_float(c.in[0].dtype(), [&]<class T>() {
    lstm::BackwardArgs<T> a{in_ptr<T>(c, 0), in_ptr<T>(c, 2), in_ptr<T>(c, 3), in_ptr<T>(c, 4), in_ptr<T>(c, 5),
                            lengths, in_ptr<T>(c, 6), in_ptr<T>(c, 7), in_ptr<T>(c, 8), in_ptr<T>(c, 9), in_ptr<T>(c, 10),
                            in_ptr<T>(c, 11), out_ptr<T>(c, 0), out_ptr<T>(c, 1), out_ptr<T>(c, 2), out_ptr<T>(c, 3),
                            out_ptr<T>(c, 4), out_ptr<T>(c, 5)};
    lstm::lstm_backward<T>(plan, a, c.scratch);
  });
}

// ---- gradient rules -------------------------------------------------------------------------
void refuse_saved_adjoints(VjpCtx& c, int first_saved, const char* op) {
  for (int i = first_saved; i < c.num_outputs(); ++i)
    if (c.has_dout(i))
      throw GraphError(std::string(op) + ": output " + std::to_string(i) +
                       " is saved for the backward pass and cannot be differentiated");
}

// grads: dx dh0 dc0 dw_ih dw_hh db, to forward inputs at `slots` (db twice).
void set_grads(VjpCtx& c, const std::vector<Var>& g, std::initializer_list<int> slots) {
  int k = 0;
  for (int slot : slots) {
    if (c.needs(slot)) c.set(slot, g[size_t(std::min(k, 5))]);
    ++k;
  }
}

void vjp_cell(VjpCtx& c) {
  refuse_saved_adjoints(c, 2, "lstm_cell");
  static const OpId id = op_id("lstm_cell_grad");
  auto g = apply_multi(id, {c.in(0), c.in(1), c.in(2), c.in(3), c.in(4), c.out(1), c.out(2), c.dout(0), c.dout(1)});
  set_grads(c, g, {0, 1, 2, 3, 4, 5, 6});
}

void vjp_sequence(VjpCtx& c) {
  refuse_saved_adjoints(c, 3, "lstm_sequence");
  static const OpId id = op_id("lstm_sequence_grad");
  auto g = apply_multi(id, {c.in(0), c.in(1), c.in(2), c.in(3), c.in(4), c.in(5), c.out(0), c.out(4), c.out(3),
                            c.dout(0), c.dout(1), c.dout(2)});
  set_grads(c, g, {0, 2, 3, 4, 5, 6, 7});  // lengths (input 1) get none
}

// ---- gradient-check examples ---------------------------------------------------------------
struct ExampleVars {
  Var h, c, w_ih, w_hh, b_ih, b_hh;
};
ExampleVars example_state(OpExample& ex, int64_t B, int64_t In, int64_t H) {
  return {ex.random_input("h", {B, H}), ex.random_input("c", {B, H}),
          ex.random_input("w_ih", {4 * H, In}, -0.6, 0.6), ex.random_input("w_hh", {4 * H, H}, -0.6, 0.6),
          ex.random_input("b_ih", {4 * H}), ex.random_input("b_hh", {4 * H})};
}

void example_cell(OpExample& ex) {
  Var x = ex.random_input("x", {3, 4});
  ExampleVars v = example_state(ex, 3, 4, 5);
  ops::LstmState s = ops::lstm_cell(x, {v.h, v.c}, v.w_ih, v.w_hh, v.b_ih, v.b_hh);
  ex.outputs = {s.h, s.c};
}

// Mixed lengths: full, one step, none, and S-2.
void example_sequence(OpExample& ex) {
  Var x = ex.random_input("x", {4, 5, 3});
  Var lengths = ex.fixed_input("lengths", Tensor::from_i32({4}, std::vector<int32_t>{5, 1, 0, 3}));
  ExampleVars v = example_state(ex, 4, 3, 4);
  auto r = ops::lstm_sequence(x, lengths, {v.h, v.c}, v.w_ih, v.w_hh, v.b_ih, v.b_hh);
  ex.outputs = {r.output, r.h, r.c};
}

// Counted for all S steps (lengths may stop rows earlier). Forward: the input
// projection and the recurrent products, 2·B·S·4H·(In + H). Backward: dx,
// dh_prev, dW_ih and dW_hh, twice that.
double forward_gemm_flops(const TensorType& x, const TensorType& w_hh) {
  const Shape& s = x.shape;
  double rows = s.rank() == 3 ? double(s[0] * s[1]) : double(s[0]);
  double G = double(w_hh.shape[0]), In = double(s.dim(-1)), H = double(w_hh.shape[1]);
  return 2.0 * rows * G * (In + H);
}
double cell_flops(std::span<const TensorType> in, const Attrs&) { return forward_gemm_flops(in[0], in[4]); }
double sequence_flops(std::span<const TensorType> in, const Attrs&) { return forward_gemm_flops(in[0], in[5]); }
double cell_grad_flops(std::span<const TensorType> in, const Attrs&) { return 2 * forward_gemm_flops(in[0], in[4]); }
double sequence_grad_flops(std::span<const TensorType> in, const Attrs&) {
  return 2 * forward_gemm_flops(in[0], in[5]);
}

}  // namespace

void register_lstm_ops(Registry& r) {
  OpDef cell = opu::differentiable_op("lstm_cell", 7, kNoFlags, {infer_cell, cell_forward, prepare_cell}, vjp_cell,
                                      example_cell);
  cell.gemm_flops = cell_flops;
  r.add(std::move(cell));
  OpDef seq = opu::differentiable_op("lstm_sequence", 8, kNoFlags,
                                     {infer_sequence, sequence_forward, prepare_sequence}, vjp_sequence,
                                     example_sequence);
  seq.gemm_flops = sequence_flops;
  r.add(std::move(seq));
  const char* why = "the backward kernel of an LSTM; second derivatives of an LSTM are not supported";
  OpDef cell_grad = opu::gradient_free_op("lstm_cell_grad", 9, kNoFlags,
                                          {infer_cell_grad, cell_grad_forward, prepare_cell_grad}, why);
  cell_grad.gemm_flops = cell_grad_flops;
  r.add(std::move(cell_grad));
  OpDef seq_grad = opu::gradient_free_op("lstm_sequence_grad", 12, kNoFlags,
                                         {infer_sequence_grad, sequence_grad_forward, prepare_sequence_grad}, why);
  seq_grad.gemm_flops = sequence_grad_flops;
  r.add(std::move(seq_grad));
}

namespace ops {

LstmState lstm_cell(Var x, LstmState state, Var w_ih, Var w_hh, Var b_ih, Var b_hh, std::source_location where) {
  static const OpId id = op_id("lstm_cell");
  auto out = apply_multi(id, {x, state.h, state.c, w_ih, w_hh, b_ih, b_hh}, {}, {}, where);
  return {out[0], out[1]};
}

LstmSequenceResult lstm_sequence(Var x, Var lengths, LstmState initial, Var w_ih, Var w_hh, Var b_ih, Var b_hh,
                                 std::source_location where) {
  static const OpId id = op_id("lstm_sequence");
  auto out = apply_multi(id, {x, lengths, initial.h, initial.c, w_ih, w_hh, b_ih, b_hh}, {}, {}, where);
  return {out[0], out[1], out[2]};
}

}  // namespace ops
}  // namespace loom
