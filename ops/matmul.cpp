// Matrix products. "matmul": (M,K)x(K,N) -> (M,N), or batched
// (B,M,K)x(B,K,N) -> (B,M,N); attrs transpose_a / transpose_b read an operand
// as stored transposed ((K,M) or (N,K)), so no transpose op is ever needed.
// f32 runs through a oneDNN Gemm built in `prepare`, in the plan's matmul
// precision (f32, or bf16 operands with f32 results); f64 (gradient checks)
// through a reference loop. The gradient rule emits matmul nodes only:
//   Y = op_a(A)·op_b(B),  d op_a(A) = dY·op_b(B)ᵀ,  d op_b(B) = op_a(A)ᵀ·dY,
// and a transposed operand's adjoint is the transpose of that, which is again
// one matmul with the flags chosen accordingly. linear() is a composite.
#include "ops/matmul.hpp"

#include <string>

#include "graph/op_example.hpp"
#include "graph/parameters.hpp"
#include "graph/vjp.hpp"
#include "ops/dnnl/blocked_gemm.hpp"
#include "ops/dnnl/packed_gemm.hpp"
#include "ops/elementwise.hpp"
#include "ops/families.hpp"
#include "ops/op_util.hpp"
#include "ops/shape_ops.hpp"

namespace loom {
namespace {

// ---- sizes ---------------------------------------------------------------------
// The product's sizes read off two input shapes already checked by the shape rule.
struct MatmulDims {
  int64_t batch = 1, m = 0, n = 0, k = 0;
  bool ta = false, tb = false;
};

MatmulDims matmul_dims(const Shape& a, const Shape& b, const Attrs& attrs) {
  MatmulDims d;
  d.ta = attrs.get_int("transpose_a", 0) != 0;
  d.tb = attrs.get_int("transpose_b", 0) != 0;
  if (a.rank() == 3) d.batch = a[0];
  d.m = d.ta ? a.dim(-1) : a.dim(-2);
  d.k = d.ta ? a.dim(-2) : a.dim(-1);
  d.n = d.tb ? b.dim(-2) : b.dim(-1);
  return d;
}

// ---- shape rule ----------------------------------------------------------------
const char* flag(bool v) { return v ? "true" : "false"; }

// Which flag flip would make the contracted dims agree, if any.
std::string transpose_hint(const Shape& a, const Shape& b, bool ta, bool tb) {
  int64_t a_k = ta ? a.dim(-2) : a.dim(-1), a_other = ta ? a.dim(-1) : a.dim(-2);
  int64_t b_k = tb ? b.dim(-1) : b.dim(-2), b_other = tb ? b.dim(-2) : b.dim(-1);
  if (a_k == b_other) return std::string("\n  hint: did you mean transpose_b=") + flag(!tb) + "?";
  if (a_other == b_k) return std::string("\n  hint: did you mean transpose_a=") + flag(!ta) + "?";
  if (a_other == b_other)
    return std::string("\n  hint: did you mean transpose_a=") + flag(!ta) + ", transpose_b=" + flag(!tb) + "?";
  return "";
}

std::vector<TensorType> infer_matmul(std::span<const TensorType> in, const Attrs& attrs) {
  const TensorType &A = in[0], &B = in[1];
  opu::require_float(A, "the left operand");
  opu::require_same_dtype(A, B);
  bool ta = attrs.get_int("transpose_a", 0) != 0, tb = attrs.get_int("transpose_b", 0) != 0;
  std::string both = "lhs " + A.str() + " (transpose_a=" + flag(ta) + ") and rhs " + B.str() +
                     " (transpose_b=" + flag(tb) + ")";
  int ra = A.shape.rank(), rb = B.shape.rank();
  if (ra != rb || ra < 2 || ra > 3)
    throw ShapeError("matmul needs two rank-2 (M,K)x(K,N) or two rank-3 (B,M,K)x(B,K,N) operands, got " + both);
  if (ra == 3 && A.shape[0] != B.shape[0])
    throw ShapeError("matmul: batch sizes differ: lhs.dim(0) == rhs.dim(0) expected, got " +
                     std::to_string(A.shape[0]) + " vs " + std::to_string(B.shape[0]) + " for " + both);
  int a_axis = ta ? -2 : -1, b_axis = tb ? -1 : -2;
  if (A.shape.dim(a_axis) != B.shape.dim(b_axis))
    throw ShapeError("matmul: contracted dims differ: expected lhs.dim(" + std::to_string(a_axis) + ") == rhs.dim(" +
                     std::to_string(b_axis) + "), got " + std::to_string(A.shape.dim(a_axis)) + " vs " +
                     std::to_string(B.shape.dim(b_axis)) + " for " + both +
                     transpose_hint(A.shape, B.shape, ta, tb));
  MatmulDims d = matmul_dims(A.shape, B.shape, attrs);
  Shape out = ra == 3 ? Shape{d.batch, d.m, d.n} : Shape{d.m, d.n};
  return {{A.dtype, out}};
}

// ---- kernels -------------------------------------------------------------------
struct MatmulState : OpState {
  explicit MatmulState(StepGemm g) : gemm(std::move(g)) {}
  StepGemm gemm;
};

struct PackedMatmulState : OpState {
  PackedMatmulState(PackedGemm g, const ParameterStore& p) : gemm(std::move(g)), params(&p) {}
  PackedGemm gemm;
  const ParameterStore* params;
  const float* packed_from = nullptr;  // the B and values_version of the last pack
  uint64_t packed_version = 0;

  void run(const float* a, const float* b, float* c) {
    if (b != packed_from || params->values_version() != packed_version) {
      gemm.pack(b);
      packed_from = b;
      packed_version = params->values_version();
    }
    gemm.run(a, c);
  }
};

// f32 only: f64 runs the reference loop and needs no state.
std::unique_ptr<OpState> prepare_matmul(const PrepareCtx& c) {
  if (c.out[0].dtype() != DType::F32) return nullptr;
  MatmulDims d = matmul_dims(c.in[0].shape(), c.in[1].shape(), c.attrs);
  GemmShape gs{.m = d.m, .n = d.n, .k = d.k, .trans_a = d.ta, .trans_b = d.tb, .batch = d.batch,
               .precision = c.matmul_precision};
  if (c.pack_parameter_weights && !c.deterministic && c.params && c.params->holds_value(c.in[1].data) &&
      packed_gemm_suits(gs))
    return std::make_unique<PackedMatmulState>(PackedGemm(dnnl_context(c), gs), *c.params);
  return std::make_unique<MatmulState>(StepGemm(dnnl_context(c), gs));
}

// a: (Bt,M,K) or (Bt,K,M)  b: (Bt,K,N) or (Bt,N,K)  y: (Bt,M,N); Bt = 1 for 2-D.
template <class T>
void matmul_reference(const T* a, const T* b, T* y, const MatmulDims& d) {
  int64_t rows = d.batch * d.m;
#pragma omp parallel for schedule(static) if (opu::worth_parallel(rows * d.n * d.k))
  for (int64_t r = 0; r < rows; ++r) {
    int64_t bi = r / d.m, i = r % d.m;
    const T* ab = a + bi * d.m * d.k;
    const T* bb = b + bi * d.k * d.n;
    for (int64_t j = 0; j < d.n; ++j) {
      T acc = 0;
      for (int64_t p = 0; p < d.k; ++p) {
        T av = d.ta ? ab[p * d.m + i] : ab[i * d.k + p];
        T bv = d.tb ? bb[j * d.k + p] : bb[p * d.n + j];
        acc += av * bv;
      }
      y[r * d.n + j] = acc;
    }
  }
}

void matmul_forward(const KernelCtx& c) {
  if (c.out[0].dtype() == DType::F32) {
    LOOM_ASSERT(c.state != nullptr, "matmul f32 step run without its prepare hook");
    if (auto* packed = dynamic_cast<PackedMatmulState*>(c.state))
      return packed->run(c.in[0].ptr<float>(), c.in[1].ptr<float>(), c.out[0].ptr<float>());
    static_cast<const MatmulState*>(c.state)->gemm.run(c.in[0].ptr<float>(), c.in[1].ptr<float>(),
                                                       c.out[0].ptr<float>());
    return;
  }
  MatmulDims d = matmul_dims(c.in[0].shape(), c.in[1].shape(), c.attrs);
  matmul_reference(c.in[0].ptr<double>(), c.in[1].ptr<double>(), c.out[0].ptr<double>(), d);
}

// ---- gradient rule ---------------------------------------------------------------
// With a = op_a(A), b = op_b(B):  da = dY·bᵀ,  db = aᵀ·dY.
//   dA = da          = dY·op_b(B)ᵀ   (ta=0)     dA = daᵀ = op_b(B)·dYᵀ   (ta=1)
//   dB = db          = op_a(A)ᵀ·dY   (tb=0)     dB = dbᵀ = dYᵀ·op_a(A)   (tb=1)
// and op_x(X)ᵀ is X read with the opposite flag.
void vjp_matmul(VjpCtx& c) {
  bool ta = c.attrs().get_int("transpose_a", 0) != 0, tb = c.attrs().get_int("transpose_b", 0) != 0;
  Var A = c.in(0), B = c.in(1), dY = c.dout();
  if (c.needs(0)) c.set(0, ta ? ops::matmul(B, dY, tb, true) : ops::matmul(dY, B, false, !tb));
  if (c.needs(1)) c.set(1, tb ? ops::matmul(dY, A, true, ta) : ops::matmul(A, dY, !ta, false));
}

// ---- gradient-check example --------------------------------------------------------
// Every flag combination, 2-D and batched, with distinct odd sizes (M=3, K=4, N=5)
// so that a swapped index cannot pass.
void example_matmul(OpExample& ex) {
  Var a = ex.random_input("a", {3, 4}), at = ex.random_input("at", {4, 3});
  Var b = ex.random_input("b", {4, 5}), bt = ex.random_input("bt", {5, 4});
  Var ba = ex.random_input("ba", {2, 3, 4}), bat = ex.random_input("bat", {2, 4, 3});
  Var bb = ex.random_input("bb", {2, 4, 5}), bbt = ex.random_input("bbt", {2, 5, 4});
  ex.outputs = {ops::matmul(a, b),           ops::matmul(at, b, true, false),    ops::matmul(a, bt, false, true),
                ops::matmul(at, bt, true, true), ops::matmul(ba, bb),            ops::matmul(bat, bbt, true, true),
                ops::matmul(ba, bbt, false, true), ops::matmul(bat, bb, true, false)};
}

double matmul_flops(std::span<const TensorType> in, const Attrs& attrs) {
  MatmulDims d = matmul_dims(in[0].shape, in[1].shape, attrs);
  return 2.0 * double(d.batch) * double(d.m) * double(d.n) * double(d.k);
}

}  // namespace

void register_matmul_ops(Registry& r) {
  OpDef d = opu::differentiable_op("matmul", 2, kNoFlags, {infer_matmul, matmul_forward, prepare_matmul}, vjp_matmul,
                                   example_matmul);
  d.gemm_flops = matmul_flops;
  r.add(std::move(d));
}

namespace ops {

Var matmul(Var a, Var b, bool transpose_a, bool transpose_b, std::source_location where) {
  static const OpId id = op_id("matmul");
  Attrs attrs{{"transpose_a", int64_t(transpose_a)}, {"transpose_b", int64_t(transpose_b)}};
  return apply(id, {a, b}, std::move(attrs), {}, where);
}

// x: (N,In) or (B,T,In)  weight: (Out,In)  bias: (Out)  ->  (N,Out) or (B,T,Out).
// Composite: reshape to (B·T,In), matmul with transpose_b, add bias, reshape back.
Var linear(Var x, Var weight, Var bias, std::source_location where) {
  auto fail = [&](const std::string& rule) {
    throw ShapeError("ShapeError in linear built at " + std::string(where.file_name()) + ":" +
                     std::to_string(where.line()) + "\n  inputs: x " + x.type().str() + "  weight " +
                     weight.type().str() + "  bias " + bias.type().str() + "\n  " + rule);
  };
  if (x.rank() != 2 && x.rank() != 3) fail("expected x of rank 2 (N,In) or 3 (B,T,In)");
  if (weight.rank() != 2) fail("expected weight of rank 2 (Out,In)");
  if (bias.rank() != 1) fail("expected bias of rank 1 (Out)");
  if (x.dim(-1) != weight.dim(1))
    fail("expected x.dim(-1) == weight.dim(1) (In), got " + std::to_string(x.dim(-1)) + " vs " +
         std::to_string(weight.dim(1)) + "; weight is stored (Out,In) as in PyTorch");
  if (bias.dim(0) != weight.dim(0))
    fail("expected bias.dim(0) == weight.dim(0) (Out), got " + std::to_string(bias.dim(0)) + " vs " +
         std::to_string(weight.dim(0)));
  Var x2 = x.rank() == 3 ? reshape(x, {x.dim(0) * x.dim(1), x.dim(2)}, where) : x;
  Var y = add(matmul(x2, weight, false, true, where), bias, where);
  return x.rank() == 3 ? reshape(y, {x.dim(0), x.dim(1), weight.dim(0)}, where) : y;
}

}  // namespace ops
}  // namespace loom
