// The fused lstm_cell against its gate-level composition from primitive ops
// (matmul, add, slice, sigmoid, tanh, mul): values and every gradient agree,
// in f64 tightly and in f32 (oneDNN GEMMs) within float tolerance.
#include "autograd/grad.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

constexpr int64_t B = 3, In = 5, H = 4;

struct Cell {
  Var x, h, c, w_ih, w_hh, b_ih, b_hh;
};

Cell cell_inputs(Graph& g, DType dt) {
  return {input(g, "x", {dt, {B, In}}),          input(g, "h", {dt, {B, H}}),
          input(g, "c", {dt, {B, H}}),           input(g, "w_ih", {dt, {4 * H, In}}),
          input(g, "w_hh", {dt, {4 * H, H}}),    input(g, "b_ih", {dt, {4 * H}}),
          input(g, "b_hh", {dt, {4 * H}})};
}

// gates = x W_ih^T + b_ih + h W_hh^T + b_hh, split (i, f, g, o) along the last axis.
ops::LstmState composed_cell(const Cell& in) {
  Var gates = ops::matmul(in.x, in.w_ih, false, true) + in.b_ih + ops::matmul(in.h, in.w_hh, false, true) + in.b_hh;
  auto gate = [&](int k) { return ops::slice(gates, -1, k * H, (k + 1) * H); };
  Var i = ops::sigmoid(gate(0)), f = ops::sigmoid(gate(1)), g = ops::tanh(gate(2)), o = ops::sigmoid(gate(3));
  Var c_next = f * in.c + i * g;
  return {o * ops::tanh(c_next), c_next};
}

std::vector<Tensor> run_cell(DType dt, bool fused) {
  Graph g;
  Cell in = cell_inputs(g, dt);
  ops::LstmState out = fused ? ops::lstm_cell(in.x, {in.h, in.c}, in.w_ih, in.w_hh, in.b_ih, in.b_hh)
                             : composed_cell(in);
  // A loss that weighs h and c differently, so both adjoints matter.
  Var loss = ops::sum(out.h * out.h) + ops::sum(out.c * 0.5);
  std::vector<Var> wrt{in.x, in.h, in.c, in.w_ih, in.w_hh, in.b_ih, in.b_hh};
  std::vector<Var> fetch{out.h, out.c};
  for (const Var& d : grad(loss, wrt)) fetch.push_back(d);
  test::Feeds feeds;
  uint64_t seed = 11;
  for (const Var& v : wrt) feeds.emplace_back(v.node().name, test::random_tensor(dt, v.shape(), seed++));
  // Kept as built: fuse_lstm_cell would turn the composition into lstm_cell.
  CompileOptions as_built;
  as_built.fuse_lstm_cell = false;
  return test::run_graph(g, fetch, feeds, as_built);
}

void expect_fused_matches_composed(DType dt, double tol) {
  std::vector<Tensor> fused = run_cell(dt, true), composed = run_cell(dt, false);
  ASSERT_EQ(fused.size(), composed.size());
  const char* names[] = {"h", "c", "dx", "dh", "dc", "dw_ih", "dw_hh", "db_ih", "db_hh"};
  for (size_t k = 0; k < fused.size(); ++k)
    EXPECT_LT(test::rel_l2_error(fused[k], composed[k]), tol) << names[k] << " in " << dtype_name(dt);
}

TEST(LstmCellComposed, F64ValuesAndGradientsMatch) { expect_fused_matches_composed(DType::F64, 1e-12); }
TEST(LstmCellComposed, F32ValuesAndGradientsMatch) { expect_fused_matches_composed(DType::F32, 1e-5); }

}  // namespace
}  // namespace loom
