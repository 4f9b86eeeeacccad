// fuse_lstm_cell: an LSTM cell written from matmul/add/slice/sigmoid/tanh/mul
// compiles to one lstm_cell step with the unrewritten graph's results (f64
// and f32), in the variants a user writes (biases before or after, linear(),
// operands of add and mul in either order, two unrolled steps). Gate activations read
// elsewhere (a fetch, the backward of a differentiated cell) come from the
// cell's saved activations; a cell whose other intermediates escape, and near
// misses (gate order, activation, weight layout), are left as built.
#include <algorithm>

#include "autograd/grad.hpp"
#include "graph/passes/passes.hpp"
#include "graph/verify.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

using namespace loom;

namespace {

constexpr int64_t B = 3, In = 5, H = 4;

struct Cell {
  Var x, h, c, w_ih, w_hh, b_ih, b_hh;
};

Cell cell_inputs(Graph& g, DType dt) {
  return {input(g, "x", {dt, {B, In}}),       input(g, "h", {dt, {B, H}}),
          input(g, "c", {dt, {B, H}}),           input(g, "w_ih", {dt, {4 * H, In}}),
          input(g, "w_hh", {dt, {4 * H, H}}),    input(g, "b_ih", {dt, {4 * H}}),
          input(g, "b_hh", {dt, {4 * H}})};
}

// How the hand-written cell deviates from the plain PyTorch formula.
struct Style {
  bool bias_per_term = false;   // (x W_ih^T + b_ih) + (h W_hh^T + b_hh)
  bool linear = false;          // linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)
  bool recurrent_first = false;  // h's product written before x's
  bool swap_operands = false;   // tanh(g) * sigmoid(i), c * sigmoid(f), ...
  int gate_order[4] = {0, 1, 2, 3};  // slice index of i, f, g, o
  bool o_tanh = false;          // a wrong activation for o
};

Var gate_sum(const Cell& in, Var x, Var h, const Style& s) {
  if (s.linear) return ops::linear(x, in.w_ih, in.b_ih) + ops::linear(h, in.w_hh, in.b_hh);
  Var px = ops::matmul(x, in.w_ih, false, true), ph = ops::matmul(h, in.w_hh, false, true);
  if (s.bias_per_term) return s.recurrent_first ? (ph + in.b_hh) + (px + in.b_ih) : (px + in.b_ih) + (ph + in.b_hh);
  return s.recurrent_first ? ph + in.b_hh + px + in.b_ih : px + in.b_ih + ph + in.b_hh;
}

struct Composed {
  Var h, c, i_gate, pre;  // pre: the gate pre-activations (B,4H)
};

Composed composed_cell(const Cell& in, Var x, Var h, Var c, const Style& s = {}) {
  Var gates = gate_sum(in, x, h, s);
  auto gate = [&](int k) { return ops::slice(gates, -1, s.gate_order[k] * H, (s.gate_order[k] + 1) * H); };
  Var i = ops::sigmoid(gate(0)), f = ops::sigmoid(gate(1)), g = ops::tanh(gate(2));
  Var o = s.o_tanh ? ops::tanh(gate(3)) : ops::sigmoid(gate(3));
  Var c_next = s.swap_operands ? g * i + c * f : f * c + i * g;
  Var h_next = s.swap_operands ? ops::tanh(c_next) * o : o * ops::tanh(c_next);
  return {h_next, c_next, i, gates};
}

test::Feeds cell_feeds(const Graph& g, DType dt) {
  test::Feeds feeds;
  uint64_t seed = 21;
  for (NodeId id : g.inputs()) {
    const Node& n = g.node(id);
    feeds.emplace_back(n.name, test::random_tensor(dt, n.outputs[0].shape, seed++));
  }
  return feeds;
}

std::vector<std::string> step_ops(const Plan& plan) {
  std::vector<std::string> ops;
  for (const Step& s : plan.steps) ops.push_back(op_def(plan.program.graph.node(s.node).op).name);
  return ops;
}

int count(const std::vector<std::string>& ops, const std::string& op) {
  return int(std::count(ops.begin(), ops.end(), op));
}

std::vector<Value> values_of(const std::vector<Var>& vars) {
  std::vector<Value> out;
  for (const Var& v : vars) out.push_back(v.value);
  return out;
}

// The plan's step ops with every pass on, verified after each pass.
std::vector<std::string> compiled_ops(const Graph& g, const std::vector<Var>& outputs) {
  CompileOptions all;
  all.verify_each_pass = true;
  return step_ops(compile(g, values_of(outputs), all));
}

// Every pass on against the graph as built; fuse_lstm_cell alone against the
// graph as built.
void expect_same_results(const Graph& g, const std::vector<Var>& outputs, DType dt) {
  test::Feeds feeds = cell_feeds(g, dt);
  std::vector<Tensor> built = test::run_graph(g, outputs, feeds, CompileOptions::none());
  double tol = dt == DType::F64 ? 1e-12 : 1e-5;
  for (const CompileOptions& options : {CompileOptions{}, test::only(&CompileOptions::fuse_lstm_cell)}) {
    std::vector<Tensor> got = test::run_graph(g, outputs, feeds, options);
    for (size_t k = 0; k < got.size(); ++k)
      EXPECT_LT(test::rel_l2_error(got[k], built[k]), tol) << "output " << k << " in " << dtype_name(dt);
  }
}

void expect_rewritten(const Style& style) {
  for (DType dt : {DType::F64, DType::F32}) {
    Graph g;
    Cell in = cell_inputs(g, dt);
    Composed out = composed_cell(in, in.x, in.h, in.c, style);
    std::vector<std::string> ops = compiled_ops(g, {out.h, out.c});
    EXPECT_EQ(count(ops, "lstm_cell"), 1) << dtype_name(dt);
    for (const char* gone : {"matmul", "slice", "sigmoid", "tanh", "mul", "add", "fused_elementwise"})
      EXPECT_EQ(count(ops, gone), 0) << gone << " in " << dtype_name(dt);
    expect_same_results(g, {out.h, out.c}, dt);
  }
}

void expect_left_alone(const Style& style) {
  Graph g;
  Cell in = cell_inputs(g, DType::F64);
  Composed out = composed_cell(in, in.x, in.h, in.c, style);
  Program p{g, {out.h.value, out.c.value}};
  run_fuse_lstm_cell(p, test::only(&CompileOptions::fuse_lstm_cell));
  EXPECT_EQ(test::count_op(p.graph, "lstm_cell"), 0);
  EXPECT_EQ(p.graph.size(), g.size());
}

}  // namespace

TEST(FuseLstmCell, HandWrittenCellIsOneLstmCellStep) { expect_rewritten({}); }

TEST(FuseLstmCell, BiasesPerTermLinearAndRecurrentProductFirst) {
  Style per_term;
  per_term.bias_per_term = true;
  expect_rewritten(per_term);
  Style recurrent_first;
  recurrent_first.recurrent_first = true;
  expect_rewritten(recurrent_first);
  per_term.recurrent_first = true;
  expect_rewritten(per_term);
  Style linear;
  linear.linear = true;
  expect_rewritten(linear);
}

TEST(FuseLstmCell, OperandsOfMulAndAddInEitherOrder) {
  Style swapped;
  swapped.swap_operands = true;
  expect_rewritten(swapped);
}

TEST(FuseLstmCell, ThePassRecordsItsNameAndItsNodeMatchesTheBuiltinCell) {
  Graph g;
  Cell in = cell_inputs(g, DType::F64);
  Composed out = composed_cell(in, in.x, in.h, in.c);
  Program p{g, {out.h.value, out.c.value}};
  run_fuse_lstm_cell(p, test::only(&CompileOptions::fuse_lstm_cell));
  verify(p, "fuse_lstm_cell");
  ASSERT_EQ(test::count_op(p.graph, "lstm_cell"), 1);
  const Node& cell = p.graph.node(p.outputs[0].node);
  EXPECT_EQ(op_def(cell.op).name, "lstm_cell");
  EXPECT_EQ(p.outputs[0], (Value{p.outputs[0].node, 0}));
  EXPECT_EQ(p.outputs[1], (Value{p.outputs[0].node, 1}));
  // Operands in lstm_cell's order, whatever order they were created in.
  std::vector<std::string> names;
  for (const Value& v : cell.inputs) names.push_back(p.graph.node(v.node).name);
  EXPECT_EQ(names, (std::vector<std::string>{"x", "h", "c", "w_ih", "w_hh", "b_ih", "b_hh"}));
  Plan plan = compile(g, {out.h.value, out.c.value});
  EXPECT_NE(std::find(plan.passes_run.begin(), plan.passes_run.end(), "fuse_lstm_cell"), plan.passes_run.end());
}

TEST(FuseLstmCell, TwoUnrolledStepsAreTwoLstmCellSteps) {
  for (DType dt : {DType::F64, DType::F32}) {
    Graph g;
    Cell in = cell_inputs(g, dt);
    Var x2 = input(g, "x2", {dt, {B, In}});
    Composed first = composed_cell(in, in.x, in.h, in.c);
    Composed second = composed_cell(in, x2, first.h, first.c);
    std::vector<std::string> ops = compiled_ops(g, {second.h, second.c});
    EXPECT_EQ(ops, (std::vector<std::string>{"lstm_cell", "lstm_cell"})) << dtype_name(dt);
    expect_same_results(g, {second.h, second.c, first.h}, dt);
  }
}

TEST(FuseLstmCell, FetchedActivationIsASliceOfTheSavedGates) {
  for (DType dt : {DType::F64, DType::F32}) {
    Graph g;
    Cell in = cell_inputs(g, dt);
    Composed out = composed_cell(in, in.x, in.h, in.c);
    std::vector<std::string> ops = compiled_ops(g, {out.h, out.c, out.i_gate});
    EXPECT_EQ(ops, (std::vector<std::string>{"lstm_cell", "slice"})) << dtype_name(dt);
    expect_same_results(g, {out.h, out.c, out.i_gate}, dt);
  }
}

TEST(FuseLstmCell, BackwardReadsTheSavedActivations) {
  for (DType dt : {DType::F64, DType::F32}) {
    Graph g;
    Cell in = cell_inputs(g, dt);
    Composed out = composed_cell(in, in.x, in.h, in.c);
    Var loss = ops::sum(out.h * out.h) + ops::sum(out.c * 0.5);
    std::vector<Var> fetch{loss};
    for (const Var& d : grad(loss, {in.x, in.h, in.c, in.w_ih, in.w_hh, in.b_ih, in.b_hh})) fetch.push_back(d);
    std::vector<std::string> ops = compiled_ops(g, fetch);
    EXPECT_EQ(count(ops, "lstm_cell"), 1) << dtype_name(dt);
    EXPECT_EQ(count(ops, "sigmoid"), 0) << dtype_name(dt);
    expect_same_results(g, fetch, dt);
  }
}

TEST(FuseLstmCell, FetchedPreActivationsKeepTheCellAsBuilt) {
  Graph g;
  Cell in = cell_inputs(g, DType::F64);
  Composed out = composed_cell(in, in.x, in.h, in.c);
  std::vector<std::string> ops = compiled_ops(g, {out.h, out.c, out.pre});
  EXPECT_EQ(count(ops, "lstm_cell"), 0);
  EXPECT_EQ(count(ops, "slice"), 4);
  expect_same_results(g, {out.h, out.c, out.pre}, DType::F64);
}

TEST(FuseLstmCell, PreActivationsReadElsewhereKeepTheCellAsBuilt) {
  Graph g;
  Cell in = cell_inputs(g, DType::F64);
  Composed out = composed_cell(in, in.x, in.h, in.c);
  Var y = out.h + ops::slice(out.pre, -1, 0, H);  // the pre-activations leave the pattern
  std::vector<std::string> ops = compiled_ops(g, {y, out.c});
  EXPECT_EQ(count(ops, "lstm_cell"), 0);
  expect_same_results(g, {y, out.c}, DType::F64);
}

TEST(FuseLstmCell, ActivationReadBeforeTheCellStateKeepsTheCellAsBuilt) {
  // The lstm_cell node would stand where c' is; a reader built before it
  // could not see the saved activations.
  Graph g;
  Cell in = cell_inputs(g, DType::F64);
  Var gates = gate_sum(in, in.x, in.h, {});
  auto gate = [&](int k) { return ops::slice(gates, -1, k * H, (k + 1) * H); };
  Var i = ops::sigmoid(gate(0)), f = ops::sigmoid(gate(1)), gg = ops::tanh(gate(2)), o = ops::sigmoid(gate(3));
  Var early = ops::exp(i);
  Var c_next = f * in.c + i * gg;
  Var h_next = o * ops::tanh(c_next);
  Program p{g, {h_next.value, c_next.value, early.value}};
  run_fuse_lstm_cell(p, test::only(&CompileOptions::fuse_lstm_cell));
  EXPECT_EQ(test::count_op(p.graph, "lstm_cell"), 0);
  EXPECT_EQ(p.graph.size(), g.size());
}

TEST(FuseLstmCell, WrongGateOrderIsNotRewritten) {
  Style f_before_i;
  f_before_i.gate_order[0] = 1;
  f_before_i.gate_order[1] = 0;
  expect_left_alone(f_before_i);
  Style g_last;  // i, f, o, g
  g_last.gate_order[2] = 3;
  g_last.gate_order[3] = 2;
  expect_left_alone(g_last);
}

TEST(FuseLstmCell, WrongActivationIsNotRewritten) {
  Style o_tanh;
  o_tanh.o_tanh = true;
  expect_left_alone(o_tanh);
}

TEST(FuseLstmCell, WeightsNotStoredAsFourHByInAreNotRewritten) {
  // x W with W (In,4H): the right sum, but lstm_cell reads w_ih as (4H,In).
  Graph g;
  Cell in = cell_inputs(g, DType::F64);
  Var w_t = input(g, "w_ih_t", {DType::F64, {In, 4 * H}});
  Var gates = ops::matmul(in.x, w_t) + in.b_ih + ops::matmul(in.h, in.w_hh, false, true) + in.b_hh;
  auto gate = [&](int k) { return ops::slice(gates, -1, k * H, (k + 1) * H); };
  Var c_next = ops::sigmoid(gate(1)) * in.c + ops::sigmoid(gate(0)) * ops::tanh(gate(2));
  Var h_next = ops::sigmoid(gate(3)) * ops::tanh(c_next);
  std::vector<std::string> ops = compiled_ops(g, {h_next, c_next});
  EXPECT_EQ(count(ops, "lstm_cell"), 0);
  expect_same_results(g, {h_next, c_next}, DType::F64);
}
