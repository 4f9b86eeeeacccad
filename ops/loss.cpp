// Cross-entropy from logits, fused with log-softmax, and its companion
// backward op cross_entropy_grad.
//   logits: (N,C)  targets: (N) i32  loss: scalar
// With q = (1−ls)·onehot(t) + ls/C (ls = label smoothing) and p = softmax(row):
//   row loss = −Σ_c q_c log p_c = lse − (1−ls)·x_t − (ls/C)·Σ_c x_c
//   loss     = Σ counted rows / count, count = rows whose target ≠ ignore_index (0 if none)
//   dlogits  = (p − q)·dloss/count on counted rows, 0 on ignored rows.
// Targets are validated serially before any parallel loop, so a bad target
// throws (naming its value, row and C) instead of reading out of bounds.
#include "ops/loss.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "graph/op_example.hpp"
#include "graph/vjp.hpp"
#include "ops/families.hpp"
#include "ops/op_util.hpp"
#include "ops/vmath.hpp"

namespace loom {
namespace {

struct CeParams {
  int64_t n = 0, classes = 0, ignore = -100;
  double smoothing = 0;
};

CeParams ce_params(const KernelCtx& c) {
  return {c.in[0].shape()[0], c.in[0].shape()[1], c.attrs.get_int("ignore_index"),
          c.attrs.get_float("label_smoothing")};
}

// Number of counted targets; throws on a target outside [0, C) that is not ignore_index.
int64_t count_targets(const int32_t* t, const CeParams& P) {
  int64_t count = 0;
  for (int64_t i = 0; i < P.n; ++i) {
    if (t[i] == P.ignore) continue;
    if (t[i] < 0 || t[i] >= P.classes)
      throw std::out_of_range("cross_entropy: target " + std::to_string(t[i]) + " at row " + std::to_string(i) +
                              " is outside [0, C=" + std::to_string(P.classes) + ") and is not ignore_index (" +
                              std::to_string(P.ignore) + ")");
    ++count;
  }
  return count;
}

// Per-row losses, summed serially afterwards so that the result does not
// depend on the thread count. Allocated once in prepare.
struct CeState : OpState {
  std::vector<double> row_loss;
};

std::unique_ptr<OpState> prepare_ce(const PrepareCtx& c) {
  auto s = std::make_unique<CeState>();
  s->row_loss.resize(size_t(c.in[0].shape()[0]));
  return s;
}

constexpr int64_t kExpBlock = 256;  // stack chunk for exponentials (f32: vectorised)

template <class T>
T row_max(const T* x, int64_t n) {
  T m = x[0];
  for (int64_t c = 1; c < n; ++c) m = std::max(m, x[c]);
  return m;
}

// logits: (N,C)  targets: (N)  out: scalar
template <class T>
void ce_typed(const KernelCtx& c) {
  CeParams P = ce_params(c);
  const T* x = c.in[0].ptr<T>();
  const int32_t* t = c.in[1].ptr<int32_t>();
  int64_t count = count_targets(t, P);
  double* row_loss = static_cast<CeState*>(c.state)->row_loss.data();
  double keep_t = 1.0 - P.smoothing, spread = P.smoothing / double(P.classes);
#pragma omp parallel for schedule(static) if (opu::worth_parallel(P.n * P.classes))
  for (int64_t i = 0; i < P.n; ++i) {
    if (t[i] == P.ignore) {
      row_loss[i] = 0;
      continue;
    }
    const T* xi = x + i * P.classes;
    T mx = row_max(xi, P.classes), sum_exp = 0, sum_x = 0;
    alignas(64) T e[kExpBlock];
    for (int64_t k0 = 0; k0 < P.classes; k0 += kExpBlock) {
      const int64_t n = std::min(kExpBlock, P.classes - k0);
      for (int64_t k = 0; k < n; ++k) e[k] = xi[k0 + k] - mx;
      vmath::exp(e, e, n);
      for (int64_t k = 0; k < n; ++k) {
        sum_exp += e[k];
        sum_x += xi[k0 + k];
      }
    }
    double lse = double(mx) + std::log(double(sum_exp));
    row_loss[i] = lse - keep_t * double(xi[t[i]]) - spread * double(sum_x);
  }
  double total = 0;
  for (int64_t i = 0; i < P.n; ++i) total += row_loss[i];
  c.out[0].ptr<T>()[0] = count ? T(total / double(count)) : T(0);
}

void ce_forward(const KernelCtx& c) {
  opu::dispatch_float(c.in[0].dtype(), [&]<class T>() { ce_typed<T>(c); });
}

// logits: (N,C)  targets: (N)  dloss: scalar  dlogits: (N,C) (may alias logits)
template <class T>
void ce_grad_typed(const KernelCtx& c) {
  CeParams P = ce_params(c);
  const T* x = c.in[0].ptr<T>();
  const int32_t* t = c.in[1].ptr<int32_t>();
  int64_t count = count_targets(t, P);
  T scale = count ? c.in[2].ptr<T>()[0] / T(count) : T(0);
  T keep_t = T(1 - P.smoothing), spread = T(P.smoothing / double(P.classes));
  T* dx = c.out[0].ptr<T>();
#pragma omp parallel for schedule(static) if (opu::worth_parallel(P.n * P.classes))
  for (int64_t i = 0; i < P.n; ++i) {
    const T* xi = x + i * P.classes;
    T* di = dx + i * P.classes;
    if (t[i] == P.ignore) {
      std::fill_n(di, P.classes, T(0));
      continue;
    }
    T mx = row_max(xi, P.classes), sum_exp = 0;
    for (int64_t k = 0; k < P.classes; ++k) di[k] = xi[k] - mx;  // di may be xi: each read before written
    vmath::exp(di, di, P.classes);
    for (int64_t k = 0; k < P.classes; ++k) sum_exp += di[k];
    T inv = T(1) / sum_exp;
    for (int64_t k = 0; k < P.classes; ++k) di[k] = (di[k] * inv - spread) * scale;
    di[t[i]] -= keep_t * scale;
  }
}

void ce_grad_forward(const KernelCtx& c) {
  opu::dispatch_float(c.in[0].dtype(), [&]<class T>() { ce_grad_typed<T>(c); });
}

// ---- shape rules --------------------------------------------------------------------
void require_logits_targets(std::span<const TensorType> in, const Attrs& a) {
  opu::require_float(in[0], "logits");
  if (in[0].shape.rank() != 2) throw ShapeError("logits must be (N,C), got " + in[0].str());
  if (in[1].dtype != DType::I32 || in[1].shape.rank() != 1 || in[1].shape[0] != in[0].shape[0])
    throw ShapeError("targets must be i32 (N) with N = logits.dim(0); logits " + in[0].str() + ", targets " +
                     in[1].str());
  double ls = a.get_float("label_smoothing");
  if (!(ls >= 0.0 && ls <= 1.0)) throw ShapeError("label_smoothing must be in [0, 1], got " + std::to_string(ls));
}

std::vector<TensorType> infer_ce(std::span<const TensorType> in, const Attrs& a) {
  require_logits_targets(in, a);
  return {{in[0].dtype, Shape{}}};
}

std::vector<TensorType> infer_ce_grad(std::span<const TensorType> in, const Attrs& a) {
  require_logits_targets(in, a);
  if (in[2].dtype != in[0].dtype || in[2].shape.numel() != 1)
    throw ShapeError("dloss must be a one-element tensor of the logits' dtype; logits " + in[0].str() + ", dloss " +
                     in[2].str());
  return {in[0]};
}

// ---- gradient rule and example ----------------------------------------------------------
void vjp_ce(VjpCtx& c) {
  static const OpId id = op_id("cross_entropy_grad");
  if (c.needs(0)) c.set(0, apply(id, {c.in(0), c.in(1), c.dout()}, c.attrs()));
}

// Row 2 is ignored; outputs with and without label smoothing.
void example_ce(OpExample& ex) {
  Var logits = ex.random_input("logits", {5, 4}, -2.0, 2.0);
  Var targets = ex.fixed_input("targets", Tensor::from_i32({5}, std::vector<int32_t>{0, 3, -100, 2, 1}));
  ex.outputs = {ops::cross_entropy(logits, targets), ops::cross_entropy(logits, targets, -100, 0.1)};
}

}  // namespace

void register_loss_ops(Registry& r) {
  r.add(opu::differentiable_op("cross_entropy", 2, kNoFlags, {infer_ce, ce_forward, prepare_ce}, vjp_ce, example_ce));
  r.add(opu::gradient_free_op("cross_entropy_grad", 3, kInplaceOk, {infer_ce_grad, ce_grad_forward},
                              "second derivative of cross_entropy: training needs only first order"));
}

namespace ops {

Var cross_entropy(Var logits, Var targets, int64_t ignore_index, double label_smoothing,
                  std::source_location where) {
  static const OpId id = op_id("cross_entropy");
  return apply(id, {logits, targets}, {{"ignore_index", ignore_index}, {"label_smoothing", label_smoothing}}, {},
               where);
}

}  // namespace ops
}  // namespace loom
