// LSTM kernels shared by lstm_cell (one step, S = 1) and lstm_sequence, in
// f32 (oneDNN GEMMs) and f64 (plain loops, for gradient checks). Internal to
// ops/lstm*.cpp. Layout: batch-major, gate order (i, f, g, o) as in PyTorch.
//   forward:  gates(B·S,4H) = x W_ihᵀ in ONE GEMM; then per step t
//             gates[:,t] += h_{t-1} W_hhᵀ (a strided GEMM made at plan time)
//             and one fused loop applies bias, nonlinearities and the cell update.
//   backward: per step one fused loop gives dgates[:,t] and one GEMM gives
//             dh_{t-1}; then dx, dW_ih, dW_hh each in ONE GEMM over all steps.
//             The weight GEMMs read an explicit transpose of dgates: oneDNN
//             2.6 runs a transposed-A sgemm 1.3-2.5x slower than a transpose
//             plus a plain one at these shapes (measured on 1 core).
// In f32 and f64 the recurrence runs in chunks of hidden units, one parallel
// region per sequence (below). In bf16 (the plan's matmul precision) it runs
// a GEMM over all units per step, which rounds W_hh once per sequence, not
// once per step (Gemm::run_same_b): a bf16 Gemm stages its operands in one
// buffer of the context, so its products cannot run side by side.
// A row b is active at step t when t < lengths[b]; inactive steps never
// change its state, write zero output and get zero gradient.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph/op_def.hpp"
#include "ops/dnnl/blocked_gemm.hpp"
#include "ops/one_thread.hpp"
#include "ops/op_util.hpp"
#include "ops/vmath.hpp"

namespace loom::lstm {

struct Dims {
  int64_t B = 0, S = 0, In = 0, H = 0;
  int64_t G() const { return 4 * H; }
};

// ---- activations over arrays: f32 vectorised (ops/vmath.hpp), f64 exact --------
inline void sigmoid_array(float* v, int64_t n) { vmath::sigmoid(v, v, n); }
inline void sigmoid_array(double* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) v[i] = 1.0 / (1.0 + std::exp(-v[i]));
}
inline void tanh_array(const float* x, float* y, int64_t n) { vmath::tanh(x, y, n); }
inline void tanh_array(const double* x, double* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

// ---- matrix products: oneDNN in f32, the same GemmShape as a loop in f64 -------
class MatMul {
 public:
  MatMul() = default;
  // dnnl is null for f64, which runs the loop below.
  MatMul(DnnlContext* dnnl, const GemmShape& s) : shape_(s) {
    if (dnnl) gemm_.emplace(*dnnl, s);
  }
  void run(const float* a, const float* b, float* c) const { gemm_->run(a, b, c); }
  void run(const double* a, const double* b, double* c) const;
  // B is the previous run's: bf16 reuses its rounding; f64 has none to reuse.
  void run_same_b(const float* a, const float* b, float* c) const { gemm_->run_same_b(a, b, c); }
  void run_same_b(const double* a, const double* b, double* c) const { run(a, b, c); }

 private:
  GemmShape shape_;
  std::optional<StepGemm> gemm_;
};

// C (m,n) (+)= op(A) op(B), honouring the leading dimensions; batch 1 only.
inline void MatMul::run(const double* a, const double* b, double* c) const {
  const GemmShape& s = shape_;
  int64_t lda = s.lda ? s.lda : (s.trans_a ? s.m : s.k);
  int64_t ldb = s.ldb ? s.ldb : (s.trans_b ? s.k : s.n);
  int64_t ldc = s.ldc ? s.ldc : s.n;
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) {
      double acc = s.accumulate ? c[i * ldc + j] : 0.0;
      for (int64_t p = 0; p < s.k; ++p)
        acc += (s.trans_a ? a[p * lda + i] : a[i * lda + p]) * (s.trans_b ? b[j * ldb + p] : b[p * ldb + j]);
      c[i * ldc + j] = acc;
    }
}

// ---- the recurrence, in chunks of hidden units ----------------------------------------
// Each time step is split by hidden units into chunks of kUnitChunk. A
// chunk's four gate columns come from one GEMM against its rows of W_hh, and
// its cell update needs no other chunk's values, so one parallel region
// covers the whole sequence with one barrier per step (h_t complete before
// step t+1's products) instead of a GEMM's and a gate loop's fork and join
// per step. The chunks depend on H only, and each chunk's GEMM runs on one
// thread, so the result is the same on any number of threads. Each chunk
// has GEMMs of its own: a Gemm binds its operands per call and is not
// shared between threads.
constexpr int64_t kUnitChunk = 32;

struct Chunks {
  int64_t count = 0, full = 0, last = 0;  // chunks; units in each but the last; units in the last
  int64_t units(int64_t c) const { return c + 1 == count ? last : full; }
};
inline Chunks chunks_of(int64_t H) {
  const int64_t full = std::min(kUnitChunk, H), count = (H + full - 1) / full;
  return {count, full, H - (count - 1) * full};
}

// ---- plan-time state --------------------------------------------------------------
struct ForwardPlan : OpState {
  Dims d;
  MatMul project;       // (B·S,In) x W_ihᵀ -> gates (B·S,4H)
  // f32, f64: per chunk, h0 (B,H) x W_chunkᵀ (4u,H) -> recurrent (B, 4u of 4H), and the same from
  // output[:,t-1] (row stride S·H); step scratch: W_hh by chunks (4H,H), recurrent part (B,4H).
  Chunks chunks;
  std::vector<MatMul> from_h0, from_prev;
  size_t scratch_bytes = 0;
  // bf16: all units per step.
  MatMul recur_first;   // h0 (B,H) x W_hhᵀ  +-> gates[:,0]
  MatMul recur_next;    // output[:,t-1] (B,H; row stride S·H) x W_hhᵀ +-> gates[:,t]
  bool chunked() const { return !from_h0.empty(); }
};

struct BackwardPlan : OpState {
  bool chunked() const { return !dh_chunks.empty(); }
  Dims d;
  Chunks chunks;
  std::vector<MatMul> dh_chunks;  // f32, f64: per chunk, dgates[:,t] x W_hh[:, chunk] -> dh[:, chunk]
  MatMul dh_prev;  // bf16: dgates[:,t] (B,4H; row stride S·4H) x W_hh (4H,H) -> dh (B,H)
  MatMul dx;       // dgates (B·S,4H) x W_ih (4H,In) -> dx (B·S,In)
  MatMul dw_ih;    // dgates_t (4H,B·S) x x (B·S,In) -> dW_ih (4H,In)
  MatMul dw_hh;    // dgates_t (4H,B·S) x h_prev (B·S,H) -> dW_hh (4H,H)
  size_t scratch_bytes;  // step scratch: dgates (B,S,4H), dgates_t (4H,B·S), h_prev (B,S,H)
};

inline std::unique_ptr<ForwardPlan> make_forward_plan(const Dims& d, DnnlContext* dnnl, size_t elem_bytes,
                                                      MatmulPrecision prec) {
  auto p = std::make_unique<ForwardPlan>();
  p->d = d;
  p->project = MatMul(dnnl, {.m = d.B * d.S, .n = d.G(), .k = d.In, .trans_b = true, .precision = prec});
  p->chunks = chunks_of(d.H);
  if (prec != MatmulPrecision::BF16) {
    for (int64_t c = 0; c < p->chunks.count; ++c) {
      const int64_t n = 4 * p->chunks.units(c);
      p->from_h0.emplace_back(dnnl, GemmShape{.m = d.B, .n = n, .k = d.H, .trans_b = true, .ldc = d.G(),
                                              .single_thread = true});
      p->from_prev.emplace_back(dnnl, GemmShape{.m = d.B, .n = n, .k = d.H, .trans_b = true, .lda = d.S * d.H,
                                                .ldc = d.G(), .single_thread = true});
    }
    p->scratch_bytes = size_t(d.G() * (d.H + d.B)) * elem_bytes;
    return p;
  }
  p->recur_first = MatMul(dnnl, {.m = d.B, .n = d.G(), .k = d.H, .trans_b = true, .accumulate = true,
                                 .ldc = d.S * d.G(), .precision = prec});
  p->recur_next = MatMul(dnnl, {.m = d.B, .n = d.G(), .k = d.H, .trans_b = true, .accumulate = true,
                                .lda = d.S * d.H, .ldc = d.S * d.G(), .precision = prec});
  return p;
}

inline std::unique_ptr<BackwardPlan> make_backward_plan(const Dims& d, DnnlContext* dnnl, size_t elem_bytes,
                                                        MatmulPrecision prec) {
  auto p = std::make_unique<BackwardPlan>();
  p->d = d;
  p->chunks = chunks_of(d.H);
  if (prec == MatmulPrecision::BF16)
    p->dh_prev = MatMul(dnnl, {.m = d.B, .n = d.H, .k = d.G(), .lda = d.S * d.G(), .precision = prec});
  else
    for (int64_t c = 0; c < p->chunks.count; ++c)
      p->dh_chunks.emplace_back(dnnl, GemmShape{.m = d.B, .n = p->chunks.units(c), .k = d.G(), .lda = d.S * d.G(),
                                                .ldb = d.H, .ldc = d.H, .single_thread = true});
  p->dx = MatMul(dnnl, {.m = d.B * d.S, .n = d.In, .k = d.G(), .precision = prec});
  p->dw_ih = MatMul(dnnl, {.m = d.G(), .n = d.In, .k = d.B * d.S, .precision = prec});
  p->dw_hh = MatMul(dnnl, {.m = d.G(), .n = d.H, .k = d.B * d.S, .precision = prec});
  p->scratch_bytes = size_t(d.B * d.S * (2 * d.G() + d.H)) * elem_bytes;
  return p;
}

// Whether a step's work pays for a parallel region: the recurrent products
// (B·4H·H multiply-adds) dominate it.
inline bool recurrence_worth_parallel(const Dims& d) { return opu::worth_parallel(d.B * d.G() * d.H / 64); }

// ---- lengths ------------------------------------------------------------------------
inline bool active(const int32_t* lengths, int64_t b, int64_t t) { return !lengths || t < lengths[b]; }

// Throws (call it before any parallel region) naming the first bad row.
inline void check_lengths(const int32_t* lengths, int64_t B, int64_t S) {
  for (int64_t b = 0; b < B; ++b)
    if (lengths[b] < 0 || lengths[b] > S)
      throw GraphError("lstm_sequence: lengths[" + std::to_string(b) + "] = " + std::to_string(lengths[b]) +
                       " is outside [0, S=" + std::to_string(S) + "] (batch row " + std::to_string(b) + ")");
}

// The number of steps any row takes: max(lengths), or S without lengths.
inline int64_t steps_taken(const int32_t* lengths, int64_t B, int64_t S) {
  if (!lengths) return S;
  int64_t m = 0;
  for (int64_t b = 0; b < B; ++b) m = std::max<int64_t>(m, lengths[b]);
  return m;
}

// Zeroes rows t in [from, S) of a (B,S,width) tensor.
template <class T>
void zero_steps(T* base, const Dims& d, int64_t width, int64_t from) {
  if (from >= d.S) return;
  for (int64_t b = 0; b < d.B; ++b)
    std::fill_n(base + (b * d.S + from) * width, (d.S - from) * width, T(0));
}

// ---- forward -------------------------------------------------------------------------
template <class T>
struct ForwardArgs {
  const T *x, *h0, *c0, *w_ih, *w_hh, *b_ih, *b_hh;  // x (B,S,In)  h0,c0 (B,H)  w (4H,·)  b (4H)
  const int32_t* lengths;                            // (B), or null: every row runs S steps
  T *output, *cells, *gates;                         // (B,S,H) (B,S,H) (B,S,4H)
  T *h_n, *c_n;                                      // (B,H) each, or null (lstm_cell)
};

// One active row at one step. g: (4H) pre-activations without bias, replaced
// by the activations (i, f, g, o); c_prev, c, h: (H).
template <class T>
inline void cell_update(int64_t H, T* __restrict g, const T* __restrict b_ih, const T* __restrict b_hh,
                        const T* __restrict c_prev, T* __restrict c, T* __restrict h) {
  for (int64_t j = 0; j < 4 * H; ++j) g[j] = g[j] + b_ih[j] + b_hh[j];
  sigmoid_array(g, 2 * H);  // i, f
  tanh_array(g + 2 * H, g + 2 * H, H);
  sigmoid_array(g + 3 * H, H);  // o
  for (int64_t j = 0; j < H; ++j) c[j] = g[H + j] * c_prev[j] + g[j] * g[2 * H + j];
  tanh_array(c, h, H);
  for (int64_t j = 0; j < H; ++j) h[j] *= g[3 * H + j];
}

// Step t for every row: fused bias + nonlinearities + cell update.
template <class T>
void forward_step(const Dims& d, int64_t t, const ForwardArgs<T>& a) {
  const int64_t H = d.H, G = d.G();
#pragma omp parallel for schedule(static) if (opu::worth_parallel(d.B * G))
  for (int64_t b = 0; b < d.B; ++b) {
    int64_t row = b * d.S + t;
    T* h = a.output + row * H;
    T* c = a.cells + row * H;
    if (!active(a.lengths, b, t)) {
      std::fill_n(h, H, T(0));
      std::fill_n(c, H, T(0));
      continue;
    }
    const T* c_prev = t == 0 ? a.c0 + b * H : c - H;
    cell_update<T>(H, a.gates + row * G, a.b_ih, a.b_hh, c_prev, c, h);
  }
}

// W_hh (4H,H) regrouped by chunks: chunk c's rows are its units' i, f, g, o
// rows, so that one GEMM gives all four gates of its units.
template <class T>
void group_by_chunks(const T* w_hh, const Chunks& ch, int64_t H, T* grouped) {
  for (int64_t c = 0; c < ch.count; ++c) {
    const int64_t j0 = c * ch.full, u = ch.units(c);
    for (int64_t q = 0; q < 4; ++q) std::copy_n(w_hh + (q * H + j0) * H, u * H, grouped + (4 * j0 + q * u) * H);
  }
}

// Units [j0, j0+u) of one active row at step t. recurrent: this chunk's
// (4u) product h_{t-1} W_chunkᵀ; the row's gates hold x W_ihᵀ and get the
// activations (i, f, g, o), which backward reads.
template <class T>
inline void chunk_update(const Dims& d, const ForwardArgs<T>& a, int64_t b, int64_t t, int64_t j0, int64_t u,
                         const T* __restrict recurrent) {
  const int64_t H = d.H, row = b * d.S + t;
  T* __restrict h = a.output + row * H + j0;
  T* __restrict c = a.cells + row * H + j0;
  if (!active(a.lengths, b, t)) {
    std::fill_n(h, u, T(0));
    std::fill_n(c, u, T(0));
    return;
  }
  T* g = a.gates + row * d.G() + j0;
  T act[4 * kUnitChunk];
  for (int64_t q = 0; q < 4; ++q)
    for (int64_t j = 0; j < u; ++j)
      act[q * u + j] = g[q * H + j] + recurrent[q * u + j] + a.b_ih[q * H + j0 + j] + a.b_hh[q * H + j0 + j];
  sigmoid_array(act, 2 * u);  // i, f
  tanh_array(act + 2 * u, act + 2 * u, u);
  sigmoid_array(act + 3 * u, u);  // o
  const T* c_prev = t == 0 ? a.c0 + b * H + j0 : c - H;
  for (int64_t j = 0; j < u; ++j) c[j] = act[u + j] * c_prev[j] + act[j] * act[2 * u + j];
  tanh_array(c, h, u);
  for (int64_t j = 0; j < u; ++j) h[j] *= act[3 * u + j];
  for (int64_t q = 0; q < 4; ++q) std::copy_n(act + q * u, u, g + q * H);
}

// The recurrence of a chunked plan: one region, one barrier per step.
template <class T>
void forward_chunked(const ForwardPlan& p, const ForwardArgs<T>& a, int64_t steps, std::byte* scratch) {
  const Dims& d = p.d;
  const Chunks& ch = p.chunks;
  const int64_t H = d.H, G = d.G();
  T* grouped = reinterpret_cast<T*>(scratch);  // (4H,H)
  T* recurrent = grouped + G * H;               // (B,4H), chunk c at columns 4·c·full
  if (steps > 0) group_by_chunks(a.w_hh, ch, H, grouped);
  const bool parallel = recurrence_worth_parallel(d);
  std::optional<OneThreadScope> one_thread;  // products made for one thread run as one
  if (!parallel) one_thread.emplace();
#pragma omp parallel if (parallel)
  for (int64_t t = 0; t < steps; ++t) {
#pragma omp for schedule(static)
    for (int64_t c = 0; c < ch.count; ++c) {
      const int64_t j0 = c * ch.full, u = ch.units(c);
      if (t == 0) p.from_h0[size_t(c)].run(a.h0, grouped + 4 * j0 * H, recurrent + 4 * j0);
      else p.from_prev[size_t(c)].run(a.output + (t - 1) * H, grouped + 4 * j0 * H, recurrent + 4 * j0);
      for (int64_t b = 0; b < d.B; ++b) chunk_update(d, a, b, t, j0, u, recurrent + b * G + 4 * j0);
    }
  }
}

template <class T>
void lstm_forward(const ForwardPlan& p, const ForwardArgs<T>& a, std::byte* scratch) {
  const Dims& d = p.d;
  const int64_t H = d.H, G = d.G();
  int64_t steps = steps_taken(a.lengths, d.B, d.S);
  if (steps > 0) p.project.run(a.x, a.w_ih, a.gates);
  if (p.chunked()) forward_chunked(p, a, steps, scratch);
  for (int64_t t = 0; t < steps && !p.chunked(); ++t) {
    if (t == 0) p.recur_first.run(a.h0, a.w_hh, a.gates);
    else if (t == 1) p.recur_next.run(a.output, a.w_hh, a.gates + G);
    else p.recur_next.run_same_b(a.output + (t - 1) * H, a.w_hh, a.gates + t * G);
    forward_step(d, t, a);
  }
  zero_steps(a.output, d, H, steps);
  zero_steps(a.cells, d, H, steps);
  if (!a.h_n) return;
  for (int64_t b = 0; b < d.B; ++b) {  // the state after each row's last real token
    int64_t len = a.lengths ? a.lengths[b] : d.S;
    const T* h = len ? a.output + (b * d.S + len - 1) * H : a.h0 + b * H;
    const T* c = len ? a.cells + (b * d.S + len - 1) * H : a.c0 + b * H;
    std::copy_n(h, H, a.h_n + b * H);
    std::copy_n(c, H, a.c_n + b * H);
  }
}

// ---- backward ------------------------------------------------------------------------
template <class T>
struct BackwardArgs {
  const T *x, *h0, *c0, *w_ih, *w_hh;       // forward inputs
  const int32_t* lengths;                   // (B) or null
  const T *output, *cells, *gates;          // saved by forward: (B,S,H) (B,S,H) (B,S,4H)
  const T *d_output, *d_hn, *d_cn;          // adjoints; d_output may be null (lstm_cell)
  T *dx, *dh0, *dc0, *dw_ih, *dw_hh, *db;   // gradients; dh0/dc0 also carry dh, dc between steps
};

// n units of one active row at one step (derivation: c = f·c_prev + i·g,
// h = o·tanh(c)); gate q of unit j is at g[q·stride + j]:
//   dh = dh_next + d_out      dc = dc_next + dh·o·(1 − tanh²c)
//   di = dc·g·i(1−i)   df = dc·c_prev·f(1−f)   dg = dc·i(1−g²)   do = dh·tanh(c)·o(1−o)
//   dc_prev = dc·f    (dh_prev comes from the GEMM dgates · W_hh after this loop)
template <class T>
inline void cell_backward(int64_t n, int64_t stride, const T* __restrict g, const T* __restrict c,
                          const T* __restrict c_prev, const T* __restrict dh_next, const T* dc_next,
                          const T* __restrict d_out, T* __restrict dg, T* dc_prev) {
  tanh_array(c, dg + 3 * stride, n);  // tanh(c) parks in do's slot, read just before do is written
  for (int64_t j = 0; j < n; ++j) {
    T i = g[j], f = g[stride + j], gg = g[2 * stride + j], o = g[3 * stride + j];
    T tc = dg[3 * stride + j];
    T dh = dh_next[j] + (d_out ? d_out[j] : T(0));
    T dc = dc_next[j] + dh * o * (T(1) - tc * tc);
    dg[j] = dc * gg * i * (T(1) - i);
    dg[stride + j] = dc * c_prev[j] * f * (T(1) - f);
    dg[2 * stride + j] = dc * i * (T(1) - gg * gg);
    dg[3 * stride + j] = dh * tc * o * (T(1) - o);
    dc_prev[j] = dc * f;  // may alias dc_next: read above, same element
  }
}

template <class T>
void backward_step(const Dims& d, int64_t t, const BackwardArgs<T>& a, T* dgates) {
  const int64_t H = d.H, G = d.G();
#pragma omp parallel for schedule(static) if (opu::worth_parallel(d.B * G))
  for (int64_t b = 0; b < d.B; ++b) {
    int64_t row = b * d.S + t;
    T* dg = dgates + row * G;
    if (!active(a.lengths, b, t)) {
      std::fill_n(dg, G, T(0));
      continue;
    }
    // At a row's last real step the adjoints come from h_n, c_n; before it,
    // from the carries that the later step left in dh0, dc0.
    bool last = !active(a.lengths, b, t + 1) || t + 1 == d.S;
    const T* dh_next = last ? a.d_hn + b * H : a.dh0 + b * H;
    const T* dc_next = last ? a.d_cn + b * H : a.dc0 + b * H;
    const T* c = a.cells + row * H;
    const T* c_prev = t == 0 ? a.c0 + b * H : c - H;
    const T* d_out = a.d_output ? a.d_output + row * H : nullptr;
    cell_backward<T>(H, H, a.gates + row * G, c, c_prev, dh_next, dc_next, d_out, dg, a.dc0 + b * H);
  }
}

// Units [j0, j0+u) of row b at step t: dgates, and the dc carry in dc0.
template <class T>
void chunk_backward(const Dims& d, const BackwardArgs<T>& a, int64_t b, int64_t t, int64_t j0, int64_t u,
                    T* dgates) {
  const int64_t H = d.H, G = d.G(), row = b * d.S + t;
  T* dg = dgates + row * G + j0;
  if (!active(a.lengths, b, t)) {
    for (int64_t q = 0; q < 4; ++q) std::fill_n(dg + q * H, u, T(0));
    return;
  }
  // At a row's last real step the adjoints come from h_n, c_n; before it,
  // from the carries that the later step left in dh0, dc0.
  const bool last = !active(a.lengths, b, t + 1) || t + 1 == d.S;
  const int64_t k = b * H + j0;
  const T* dh_next = last ? a.d_hn + k : a.dh0 + k;
  const T* dc_next = last ? a.d_cn + k : a.dc0 + k;
  const T* c = a.cells + row * H + j0;
  const T* c_prev = t == 0 ? a.c0 + k : c - H;
  const T* d_out = a.d_output ? a.d_output + row * H + j0 : nullptr;
  cell_backward<T>(u, H, a.gates + row * G + j0, c, c_prev, dh_next, dc_next, d_out, dg, a.dc0 + k);
}

// Steps from the last to the first, chunk by chunk as in forward: dgates of
// a chunk's units need only that chunk's dh and dc; dh_{t-1} of a chunk
// needs every chunk's dgates at t (the barrier), and the next step's
// dgates of a chunk need only its own dh_{t-1}, which the same thread made
// (same static schedule, same trip count), so that loop needs no barrier.
template <class T>
void recurrence_backward(const BackwardPlan& p, const BackwardArgs<T>& a, int64_t steps, T* dgates) {
  const Dims& d = p.d;
  const Chunks& ch = p.chunks;
  const int64_t G = d.G();
  const bool parallel = recurrence_worth_parallel(d);
  std::optional<OneThreadScope> one_thread;  // products made for one thread run as one
  if (!parallel) one_thread.emplace();
#pragma omp parallel if (parallel)
  for (int64_t t = steps - 1; t >= 0; --t) {
#pragma omp for schedule(static)
    for (int64_t c = 0; c < ch.count; ++c)
      for (int64_t b = 0; b < d.B; ++b) chunk_backward(d, a, b, t, c * ch.full, ch.units(c), dgates);
#pragma omp for schedule(static) nowait
    for (int64_t c = 0; c < ch.count; ++c) {
      const int64_t j0 = c * ch.full;
      p.dh_chunks[size_t(c)].run(dgates + t * G, a.w_hh + j0, a.dh0 + j0);  // dh_{t-1}, every row
    }
  }
}

// db (4H) = column sums of dgates (B·S,4H).
template <class T>
void bias_grad(const Dims& d, const T* dgates, T* db) {
  constexpr int64_t kCols = 64;
  const int64_t rows = d.B * d.S, G = d.G();
#pragma omp parallel for schedule(static) if (opu::worth_parallel(rows * G))
  for (int64_t j0 = 0; j0 < G; j0 += kCols) {
    int64_t n = std::min(kCols, G - j0);
    T acc[kCols] = {};
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) acc[j] += dgates[r * G + j0 + j];
    std::copy_n(acc, n, db + j0);
  }
}

// dst (cols,rows) = srcᵀ, src (rows,cols); 32x32 tiles.
template <class T>
void transpose(const T* src, int64_t rows, int64_t cols, T* dst) {
  constexpr int64_t kTile = 32;
#pragma omp parallel for schedule(static) if (opu::worth_parallel(rows * cols))
  for (int64_t c0 = 0; c0 < cols; c0 += kTile)
    for (int64_t r0 = 0; r0 < rows; r0 += kTile)
      for (int64_t c = c0; c < std::min(cols, c0 + kTile); ++c)
        for (int64_t r = r0; r < std::min(rows, r0 + kTile); ++r) dst[c * rows + r] = src[r * cols + c];
}

// h_prev (B,S,H): h0 at t = 0, output[:,t-1] after, so that dW_hh is one GEMM.
template <class T>
void gather_h_prev(const Dims& d, const T* h0, const T* output, T* h_prev) {
  const int64_t H = d.H;
#pragma omp parallel for schedule(static) if (opu::worth_parallel(d.B * d.S * H))
  for (int64_t b = 0; b < d.B; ++b) {
    std::copy_n(h0 + b * H, H, h_prev + b * d.S * H);
    std::copy_n(output + b * d.S * H, (d.S - 1) * H, h_prev + (b * d.S + 1) * H);
  }
}

template <class T>
void lstm_backward(const BackwardPlan& p, const BackwardArgs<T>& a, std::byte* scratch) {
  const Dims& d = p.d;
  const int64_t H = d.H, G = d.G();
  T* dgates = reinterpret_cast<T*>(scratch);  // (B,S,4H)
  T* dgates_t = dgates + d.B * d.S * G;               // (4H,B·S)
  T* h_prev = dgates_t + d.B * d.S * G;               // (B,S,H)
  int64_t steps = steps_taken(a.lengths, d.B, d.S);
  zero_steps(dgates, d, G, steps);
  if (p.chunked()) recurrence_backward(p, a, steps, dgates);
  for (int64_t t = steps - 1; t >= 0 && !p.chunked(); --t) {
    backward_step(d, t, a, dgates);
    if (t == steps - 1) p.dh_prev.run(dgates + t * G, a.w_hh, a.dh0);  // dh_{t-1} for every row
    else p.dh_prev.run_same_b(dgates + t * G, a.w_hh, a.dh0);
  }
  for (int64_t b = 0; b < d.B; ++b)  // rows that never ran pass the adjoints through
    if (a.lengths && a.lengths[b] == 0) {
      std::copy_n(a.d_hn + b * H, H, a.dh0 + b * H);
      std::copy_n(a.d_cn + b * H, H, a.dc0 + b * H);
    }
  if (d.S > 1) gather_h_prev(d, a.h0, a.output, h_prev);
  p.dx.run(dgates, a.w_ih, a.dx);
  bias_grad(d, dgates, a.db);
  transpose(dgates, d.B * d.S, G, dgates_t);
  p.dw_ih.run(dgates_t, a.x, a.dw_ih);
  p.dw_hh.run(dgates_t, d.S > 1 ? h_prev : a.h0, a.dw_hh);
}

}  // namespace loom::lstm
