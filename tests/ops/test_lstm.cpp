// LSTM ops: lstm_cell against a naive loop; lstm_sequence against the same
// loop and against an unrolled graph of lstm_cell nodes (values and
// gradients, f64 and f32, mixed lengths); padding semantics; gradient checks;
// shape and length errors.
#include <cmath>
#include <numeric>

#include "autograd/grad.hpp"
#include "graph/errors.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

// ---- a problem and the naive reference -----------------------------------------------
struct Problem {
  int64_t B, S, In, H;
  std::vector<int32_t> lengths;
  Tensor x, h0, c0, w_ih, w_hh, b_ih, b_hh;  // f64
};

Problem make_problem(int64_t B, int64_t S, int64_t In, int64_t H, std::vector<int32_t> lengths, uint64_t seed) {
  Problem p{B, S, In, H, std::move(lengths), {}, {}, {}, {}, {}, {}, {}};
  p.x = test::random_tensor(DType::F64, {B, S, In}, seed);
  p.h0 = test::random_tensor(DType::F64, {B, H}, seed + 1);
  p.c0 = test::random_tensor(DType::F64, {B, H}, seed + 2);
  p.w_ih = test::random_tensor(DType::F64, {4 * H, In}, seed + 3, -0.5, 0.5);
  p.w_hh = test::random_tensor(DType::F64, {4 * H, H}, seed + 4, -0.5, 0.5);
  p.b_ih = test::random_tensor(DType::F64, {4 * H}, seed + 5, -0.5, 0.5);
  p.b_hh = test::random_tensor(DType::F64, {4 * H}, seed + 6, -0.5, 0.5);
  return p;
}

struct Reference {
  Tensor output, h_n, c_n;
};

double sigm(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// The textbook recurrence, one row and one step at a time.
Reference reference_lstm(const Problem& p) {
  const int64_t H = p.H;
  Reference r{Tensor(DType::F64, {p.B, p.S, H}), p.h0, p.c0};
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t t = 0; t < p.lengths[size_t(b)]; ++t) {
      std::vector<double> gate(size_t(4 * H));
      for (int64_t k = 0; k < 4 * H; ++k) {
        double acc = p.b_ih.at(k) + p.b_hh.at(k);
        for (int64_t e = 0; e < p.In; ++e) acc += p.w_ih.at(k * p.In + e) * p.x.at((b * p.S + t) * p.In + e);
        for (int64_t e = 0; e < H; ++e) acc += p.w_hh.at(k * H + e) * r.h_n.at(b * H + e);
        gate[size_t(k)] = acc;
      }
      for (int64_t j = 0; j < H; ++j) {
        double i = sigm(gate[size_t(j)]), f = sigm(gate[size_t(H + j)]);
        double g = std::tanh(gate[size_t(2 * H + j)]), o = sigm(gate[size_t(3 * H + j)]);
        double c = f * r.c_n.at(b * H + j) + i * g;
        r.c_n.set(b * H + j, c);
        r.h_n.set(b * H + j, o * std::tanh(c));
        r.output.set((b * p.S + t) * H + j, o * std::tanh(c));
      }
    }
  return r;
}

// (B,S,K) -> (B,K) at step t.
Tensor step_of(const Tensor& t3, int64_t t) {
  int64_t B = t3.shape()[0], S = t3.shape()[1], K = t3.shape()[2];
  Tensor out(t3.dtype(), {B, K});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < K; ++k) out.set(b * K + k, t3.at((b * S + t) * K + k));
  return out;
}

// ---- graphs ----------------------------------------------------------------------------
struct Weights {
  Var h0, c0, w_ih, w_hh, b_ih, b_hh;
};
Weights weight_inputs(Graph& g, const Problem& p, DType dt) {
  return {input(g, "h0", {dt, {p.B, p.H}}), input(g, "c0", {dt, {p.B, p.H}}),
          input(g, "w_ih", {dt, {4 * p.H, p.In}}), input(g, "w_hh", {dt, {4 * p.H, p.H}}),
          input(g, "b_ih", {dt, {4 * p.H}}), input(g, "b_hh", {dt, {4 * p.H}})};
}
test::Feeds weight_feeds(const Problem& p, DType dt) {
  return {{"h0", p.h0.to(dt)}, {"c0", p.c0.to(dt)}, {"w_ih", p.w_ih.to(dt)},
          {"w_hh", p.w_hh.to(dt)}, {"b_ih", p.b_ih.to(dt)}, {"b_hh", p.b_hh.to(dt)}};
}

// Fixed loss weights: R_out (B,S,H), R_h, R_c (B,H).
struct LossWeights {
  Tensor out, h, c;
};
LossWeights loss_weights(const Problem& p) {
  return {test::random_tensor(DType::F64, {p.B, p.S, p.H}, 901), test::random_tensor(DType::F64, {p.B, p.H}, 902),
          test::random_tensor(DType::F64, {p.B, p.H}, 903)};
}

// What both graphs fetch: output (B,S,H) h_n c_n, then dx (B,S,In), dh0, dc0, dw_ih, dw_hh, db_ih, db_hh.
struct Results {
  Tensor output, h_n, c_n, dx;
  std::vector<Tensor> dweights;  // dh0 dc0 dw_ih dw_hh db_ih db_hh
};

Results run_sequence(const Problem& p, DType dt, const LossWeights& lw) {
  Graph g;
  Var x = input(g, "x", {dt, {p.B, p.S, p.In}});
  Var lengths = input(g, "lengths", {DType::I32, {p.B}});
  Weights w = weight_inputs(g, p, dt);
  auto r = ops::lstm_sequence(x, lengths, {w.h0, w.c0}, w.w_ih, w.w_hh, w.b_ih, w.b_hh);
  Var loss = ops::sum(r.output * constant(g, lw.out.to(dt))) + ops::sum(r.h * constant(g, lw.h.to(dt))) +
             ops::sum(r.c * constant(g, lw.c.to(dt)));
  std::vector<Var> grads = grad(loss, {x, w.h0, w.c0, w.w_ih, w.w_hh, w.b_ih, w.b_hh});
  std::vector<Var> fetch{r.output, r.h, r.c};
  fetch.insert(fetch.end(), grads.begin(), grads.end());
  test::Feeds feeds = weight_feeds(p, dt);
  feeds.emplace_back("x", p.x.to(dt));
  feeds.emplace_back("lengths", Tensor::from_i32({p.B}, p.lengths));
  std::vector<Tensor> out = test::run_graph(g, fetch, feeds);
  return {out[0], out[1], out[2], out[3], {out.begin() + 4, out.end()}};
}

// The same recurrence unrolled into S lstm_cell nodes; a (B,1) mask per step
// keeps finished rows' state: h = h + m·(h' − h), output_t = m·h'.
Results run_unrolled(const Problem& p, DType dt, const LossWeights& lw) {
  Graph g;
  Weights w = weight_inputs(g, p, dt);
  test::Feeds feeds = weight_feeds(p, dt);
  ops::LstmState s{w.h0, w.c0};
  std::vector<Var> xs, outs;
  Var loss = ops::sum(s.h * constant(g, lw.h.to(dt))) * 0.0;
  for (int64_t t = 0; t < p.S; ++t) {
    std::string xn = "x" + std::to_string(t), mn = "m" + std::to_string(t);
    xs.push_back(input(g, xn, {dt, {p.B, p.In}}));
    Var m = input(g, mn, {dt, {p.B, 1}});
    Tensor mask(dt, {p.B, 1});
    for (int64_t b = 0; b < p.B; ++b) mask.set(b, t < p.lengths[size_t(b)] ? 1.0 : 0.0);
    feeds.emplace_back(xn, step_of(p.x, t).to(dt));
    feeds.emplace_back(mn, mask);
    ops::LstmState next = ops::lstm_cell(xs.back(), s, w.w_ih, w.w_hh, w.b_ih, w.b_hh);
    outs.push_back(m * next.h);
    loss = loss + ops::sum(outs.back() * constant(g, step_of(lw.out, t).to(dt)));
    s = {s.h + m * (next.h - s.h), s.c + m * (next.c - s.c)};
  }
  loss = loss + ops::sum(s.h * constant(g, lw.h.to(dt))) + ops::sum(s.c * constant(g, lw.c.to(dt)));
  std::vector<Var> wrt = xs;
  for (Var v : {w.h0, w.c0, w.w_ih, w.w_hh, w.b_ih, w.b_hh}) wrt.push_back(v);
  std::vector<Var> fetch = outs;
  fetch.push_back(s.h);
  fetch.push_back(s.c);
  for (Var v : grad(loss, wrt)) fetch.push_back(v);
  std::vector<Tensor> got = test::run_graph(g, fetch, feeds);
  // Reassemble (B,S,·) tensors from the per-step ones.
  Results r{Tensor(dt, {p.B, p.S, p.H}), got[size_t(p.S)], got[size_t(p.S + 1)], Tensor(dt, {p.B, p.S, p.In}), {}};
  for (int64_t t = 0; t < p.S; ++t)
    for (int64_t b = 0; b < p.B; ++b) {
      for (int64_t j = 0; j < p.H; ++j) r.output.set((b * p.S + t) * p.H + j, got[size_t(t)].at(b * p.H + j));
      const Tensor& dxt = got[size_t(p.S + 2 + t)];
      for (int64_t e = 0; e < p.In; ++e) r.dx.set((b * p.S + t) * p.In + e, dxt.at(b * p.In + e));
    }
  r.dweights.assign(got.begin() + 2 * p.S + 2, got.end());
  return r;
}

void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  double err = test::rel_l2_error(got.to(DType::F64), want.to(DType::F64));
  EXPECT_LT(err, tol) << what << ": relative L2 error " << err;
}

void expect_results_close(const Results& a, const Results& b, double tol) {
  expect_close(a.output, b.output, tol, "output");
  expect_close(a.h_n, b.h_n, tol, "h_n");
  expect_close(a.c_n, b.c_n, tol, "c_n");
  expect_close(a.dx, b.dx, tol, "dx");
  const char* names[] = {"dh0", "dc0", "dw_ih", "dw_hh", "db_ih", "db_hh"};
  ASSERT_EQ(a.dweights.size(), b.dweights.size());
  for (size_t k = 0; k < a.dweights.size(); ++k) expect_close(a.dweights[k], b.dweights[k], tol, names[k]);
}

// ---- lstm_cell -------------------------------------------------------------------------------
class LstmCellForward : public ::testing::TestWithParam<DType> {};

TEST_P(LstmCellForward, MatchesNaiveLoop) {
  DType dt = GetParam();
  Problem p = make_problem(5, 1, 7, 6, {1, 1, 1, 1, 1}, 11);
  Graph g;
  Var x = input(g, "x", {dt, {p.B, p.In}});
  Weights w = weight_inputs(g, p, dt);
  ops::LstmState s = ops::lstm_cell(x, {w.h0, w.c0}, w.w_ih, w.w_hh, w.b_ih, w.b_hh);
  test::Feeds feeds = weight_feeds(p, dt);
  feeds.emplace_back("x", step_of(p.x, 0).to(dt));
  std::vector<Tensor> got = test::run_graph(g, {s.h, s.c}, feeds);
  Reference ref = reference_lstm(p);
  double tol = dt == DType::F64 ? 1e-13 : 1e-6;
  EXPECT_LT(test::max_abs_diff(got[0].to(DType::F64), ref.h_n), tol);
  EXPECT_LT(test::max_abs_diff(got[1].to(DType::F64), ref.c_n), tol);
}
INSTANTIATE_TEST_SUITE_P(Dtypes, LstmCellForward, ::testing::Values(DType::F64, DType::F32));

TEST(LstmCell, Gradcheck) { test::expect_op_gradcheck("lstm_cell"); }

// ---- lstm_sequence ------------------------------------------------------------------------------
struct SeqCase {
  DType dtype;
  int64_t B, S, In, H;
  std::vector<int32_t> lengths;
};
class LstmSequence : public ::testing::TestWithParam<SeqCase> {};

TEST_P(LstmSequence, ForwardMatchesNaiveLoop) {
  const SeqCase& c = GetParam();
  Problem p = make_problem(c.B, c.S, c.In, c.H, c.lengths, 21);
  Results got = run_sequence(p, c.dtype, loss_weights(p));
  Reference ref = reference_lstm(p);
  double tol = c.dtype == DType::F64 ? 1e-13 : 2e-6;
  EXPECT_LT(test::max_abs_diff(got.output.to(DType::F64), ref.output), tol);
  EXPECT_LT(test::max_abs_diff(got.h_n.to(DType::F64), ref.h_n), tol);
  EXPECT_LT(test::max_abs_diff(got.c_n.to(DType::F64), ref.c_n), tol);
}

TEST_P(LstmSequence, MatchesUnrolledCells) {
  const SeqCase& c = GetParam();
  Problem p = make_problem(c.B, c.S, c.In, c.H, c.lengths, 31);
  LossWeights lw = loss_weights(p);
  expect_results_close(run_sequence(p, c.dtype, lw), run_unrolled(p, c.dtype, lw),
                       c.dtype == DType::F64 ? 1e-12 : 2e-5);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, LstmSequence,
    ::testing::Values(SeqCase{DType::F64, 4, 6, 3, 5, {6, 1, 0, 4}}, SeqCase{DType::F32, 4, 6, 3, 5, {6, 1, 0, 4}},
                      SeqCase{DType::F64, 3, 4, 5, 2, {4, 4, 4}}, SeqCase{DType::F32, 3, 1, 5, 2, {1, 0, 1}},
                      SeqCase{DType::F32, 9, 12, 24, 40, {12, 3, 0, 10, 12, 1, 7, 11, 5}},
                      SeqCase{DType::F64, 2, 3, 2, 3, {0, 0}},
                      // hidden units in several chunks, the last one partial (ops/lstm_kernels.hpp)
                      SeqCase{DType::F64, 3, 5, 4, 70, {5, 2, 0}},
                      SeqCase{DType::F32, 32, 4, 6, 136, {4, 4, 3, 0, 1, 2, 4, 4, 4, 4, 1, 1, 2, 2, 3, 3,
                                                          4, 0, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2, 4, 4, 4, 4}}),
    [](const ::testing::TestParamInfo<SeqCase>& info) {
      const SeqCase& c = info.param;
      return std::string(dtype_name(c.dtype)) + "_B" + std::to_string(c.B) + "_S" + std::to_string(c.S) + "_In" +
             std::to_string(c.In) + "_H" + std::to_string(c.H);
    });

// The f32 path (oneDNN GEMMs on strided views) agrees with the f64 loops,
// also where the recurrence runs in parallel over chunks of hidden units
// (H = 136: four full chunks and one of 8; B·4H·H large enough for a team).
TEST(LstmSequence, F32MatchesF64) {
  std::vector<int32_t> varied(32);
  for (size_t b = 0; b < varied.size(); ++b) varied[b] = int32_t((b * 7) % 6);
  for (const Problem& p : {make_problem(4, 6, 3, 5, {6, 1, 0, 4}, 41),
                           make_problem(9, 12, 24, 40, {12, 3, 0, 10, 12, 1, 7, 11, 5}, 42),
                           make_problem(32, 5, 8, 136, varied, 43)}) {
    LossWeights lw = loss_weights(p);
    expect_results_close(run_sequence(p, DType::F32, lw), run_sequence(p, DType::F64, lw), 1e-5);
  }
}

TEST(LstmSequence, Gradcheck) { test::expect_op_gradcheck("lstm_sequence"); }

TEST(LstmSequence, CompanionOpsSayWhyTheyHaveNoGradient) {
  for (const char* name : {"lstm_cell_grad", "lstm_sequence_grad"}) {
    const OpDef& d = op_def(op_id(name));
    EXPECT_TRUE(d.has(kNonDifferentiable)) << name;
    EXPECT_FALSE(d.why_no_grad.empty()) << name;
  }
}

// ---- padding semantics --------------------------------------------------------------------------------
TEST(LstmSequencePadding, FinalStateIsTheLastRealTokenAndPadsAreZero) {
  Problem p = make_problem(4, 6, 3, 5, {6, 1, 0, 4}, 51);
  Results r = run_sequence(p, DType::F64, loss_weights(p));
  for (int64_t b = 0; b < p.B; ++b) {
    int64_t len = p.lengths[size_t(b)];
    for (int64_t j = 0; j < p.H; ++j) {
      double want = len ? r.output.at((b * p.S + len - 1) * p.H + j) : p.h0.at(b * p.H + j);
      EXPECT_EQ(r.h_n.at(b * p.H + j), want) << "row " << b;
      if (len == 0) {
        EXPECT_EQ(r.c_n.at(b * p.H + j), p.c0.at(b * p.H + j)) << "row " << b;
      }
      for (int64_t t = len; t < p.S; ++t) EXPECT_EQ(r.output.at((b * p.S + t) * p.H + j), 0.0);
    }
    for (int64_t t = len; t < p.S; ++t)
      for (int64_t e = 0; e < p.In; ++e) EXPECT_EQ(r.dx.at((b * p.S + t) * p.In + e), 0.0) << "dx at a pad";
  }
}

TEST(LstmSequencePadding, PaddedInputsChangeNothing) {
  for (DType dt : {DType::F64, DType::F32}) {
    Problem p = make_problem(4, 6, 3, 5, {6, 1, 0, 4}, 61);
    LossWeights lw = loss_weights(p);
    Results a = run_sequence(p, dt, lw);
    for (int64_t b = 0; b < p.B; ++b)
      for (int64_t t = p.lengths[size_t(b)]; t < p.S; ++t)
        for (int64_t e = 0; e < p.In; ++e) p.x.set((b * p.S + t) * p.In + e, 100.0 + double(t + e));
    Results b = run_sequence(p, dt, lw);
    EXPECT_EQ(test::max_abs_diff(a.output, b.output), 0.0);
    EXPECT_EQ(test::max_abs_diff(a.h_n, b.h_n), 0.0);
    EXPECT_EQ(test::max_abs_diff(a.c_n, b.c_n), 0.0);
    EXPECT_EQ(test::max_abs_diff(a.dx, b.dx), 0.0);
    for (size_t k = 0; k < a.dweights.size(); ++k) EXPECT_EQ(test::max_abs_diff(a.dweights[k], b.dweights[k]), 0.0);
  }
}

// ---- errors -----------------------------------------------------------------------------------------
struct Built {
  Graph g;
  Var x, lengths, h0, c0, w_ih, w_hh, b_ih, b_hh;
};
void build_inputs(Built& s, Shape x, TensorType lengths, Shape h0, Shape c0, Shape w_ih, Shape w_hh, Shape b) {
  DType f = DType::F32;
  s.x = input(s.g, "x", {f, x});
  s.lengths = input(s.g, "lengths", lengths);
  s.h0 = input(s.g, "h0", {f, h0});
  s.c0 = input(s.g, "c0", {f, c0});
  s.w_ih = input(s.g, "w_ih", {f, w_ih});
  s.w_hh = input(s.g, "w_hh", {f, w_hh});
  s.b_ih = input(s.g, "b_ih", {f, b});
  s.b_hh = input(s.g, "b_hh", {f, b});
}
void expect_sequence_error(Shape x, TensorType lengths, Shape h0, Shape c0, Shape w_ih, Shape w_hh, Shape b,
                           const std::string& needle) {
  Built s;
  build_inputs(s, x, lengths, h0, c0, w_ih, w_hh, b);
  try {
    (void)ops::lstm_sequence(s.x, s.lengths, {s.h0, s.c0}, s.w_ih, s.w_hh, s.b_ih, s.b_hh);
    ADD_FAILURE() << "expected a ShapeError mentioning '" << needle << "'";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(LstmErrors, ShapeRules) {
  TensorType len{DType::I32, {2}};
  // x (2,3,4) h (2,5): 4H = 20.
  expect_sequence_error({2, 3, 4}, len, {2, 5}, {2, 5}, {20, 3}, {20, 5}, {20}, "w_ih (4H,In)");
  expect_sequence_error({2, 3, 4}, len, {2, 5}, {2, 5}, {20, 4}, {20, 4}, {20}, "w_hh (4H,H)");
  expect_sequence_error({2, 3, 4}, len, {2, 5}, {2, 5}, {20, 4}, {20, 5}, {16}, "b_ih (4H)");
  expect_sequence_error({2, 3, 4}, len, {3, 5}, {2, 5}, {20, 4}, {20, 5}, {20}, "h (B,H)");
  expect_sequence_error({2, 3, 4}, len, {2, 5}, {2, 6}, {20, 4}, {20, 5}, {20}, "c (B,H)");
  expect_sequence_error({2, 4}, len, {2, 5}, {2, 5}, {20, 4}, {20, 5}, {20}, "rank 3");
  expect_sequence_error({2, 3, 4}, {DType::F32, {2}}, {2, 5}, {2, 5}, {20, 4}, {20, 5}, {20}, "lengths must be i32");
  expect_sequence_error({2, 3, 4}, {DType::I32, {3}}, {2, 5}, {2, 5}, {20, 4}, {20, 5}, {20}, "i32[2]");
}

TEST(LstmErrors, CellShapeRules) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {2, 4}});
  Var h = input(g, "h", {DType::F32, {2, 5}});
  Var c = input(g, "c", {DType::F64, {2, 5}});
  Var w_ih = input(g, "w_ih", {DType::F32, {20, 4}});
  Var w_hh = input(g, "w_hh", {DType::F32, {20, 5}});
  Var b = input(g, "b", {DType::F32, {20}});
  EXPECT_THROW((void)ops::lstm_cell(x, {h, c}, w_ih, w_hh, b, b), ShapeError);  // mixed dtypes
  EXPECT_THROW((void)ops::lstm_cell(x, {h, h}, w_hh, w_hh, b, b), ShapeError);  // w_ih (20,5) vs In = 4
  EXPECT_NO_THROW((void)ops::lstm_cell(x, {h, h}, w_ih, w_hh, b, b));
}

TEST(LstmErrors, LengthOutOfRangeNamesRowAndValue) {
  for (int32_t bad : {4, -1}) {
    Problem p = make_problem(3, 3, 2, 2, {3, 1, bad}, 71);
    try {
      (void)run_sequence(p, DType::F32, loss_weights(p));
      ADD_FAILURE() << "expected an error for length " << bad;
    } catch (const std::exception& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("lengths[2] = " + std::to_string(bad)), std::string::npos) << m;
      EXPECT_NE(m.find("[0, S=3]"), std::string::npos) << m;
    }
  }
}

TEST(LstmErrors, SavedOutputsAreNotDifferentiable) {
  Graph g;
  Var x = input(g, "x", {DType::F64, {2, 3}});
  Var h = input(g, "h", {DType::F64, {2, 2}});
  Var w_ih = input(g, "w_ih", {DType::F64, {8, 3}});
  Var w_hh = input(g, "w_hh", {DType::F64, {8, 2}});
  Var b = input(g, "b", {DType::F64, {8}});
  std::vector<Var> outs = apply_multi(op_id("lstm_cell"), {x, h, h, w_ih, w_hh, b, b});
  ASSERT_EQ(outs.size(), 3u);
  EXPECT_THROW((void)grad(ops::sum(outs[2]), {x}), GraphError);
}

}  // namespace
}  // namespace loom
