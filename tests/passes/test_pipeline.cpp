// The whole pipeline on a graph with gradients: all passes on give the same
// loss and gradients as everything off, verify() holds after every pass, and
// explain()/dot() describe the plan (passes, steps, fused members, arenas).
#include "autograd/grad.hpp"
#include "graph/passes/passes.hpp"
#include "graph/verify.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

using namespace loom;

namespace {

struct Model {
  Graph g;
  std::vector<Var> outputs;  // loss, dq, dp
  test::Feeds feeds;
};

// loss = Σ sigmoid(h)·h + 2·exp(0.5·h) + (c·3 − 1), h = tanh(x ⊙ q + p)
void build(Model& m, DType dt) {
  Graph& g = m.g;
  Shape s{6, 37};
  Var x = input(g, "x", {dt, s});
  Var q = parameter(g, "q", {dt, s});
  Var p = parameter(g, "p", {dt, {37}});
  Var c = constant(g, test::random_tensor(dt, {1}, 5));
  Var h = ops::tanh(x * q + p);
  Var u = ops::sigmoid(h) * h + ops::exp(h * 0.5) * 2.0 + (c * 3.0 - 1.0);
  Var unused = ops::log(ops::exp(x));  // dead
  (void)unused;
  Var loss = ops::sum(u);
  std::vector<Var> d = grad(loss, {q, p});
  m.outputs = {loss, d[0], d[1]};
  m.feeds = {{"x", test::random_tensor(dt, s, 6)}};
}

}  // namespace

TEST(Pipeline, AllPassesKeepLossAndGradients) {
  for (DType dt : {DType::F64, DType::F32}) {
    Model m;
    build(m, dt);
    CompileOptions all;
    all.verify_each_pass = true;
    std::vector<Tensor> on = test::run_graph(m.g, m.outputs, m.feeds, all);
    std::vector<Tensor> off = test::run_graph(m.g, m.outputs, m.feeds, CompileOptions::none());
    double tol = dt == DType::F64 ? 1e-12 : 1e-5;
    for (size_t i = 0; i < on.size(); ++i) EXPECT_LT(test::rel_l2_error(on[i], off[i]), tol) << "output " << i;
  }
}

TEST(Pipeline, ShrinksThePlanAndVerifiesAfterEachPass) {
  Model m;
  build(m, DType::F64);
  std::vector<Value> outs;
  for (const Var& v : m.outputs) outs.push_back(v.value);
  CompileOptions all;
  all.verify_each_pass = true;
  Plan on = compile(m.g, outs, all);
  Plan off = compile(m.g, outs, CompileOptions::none());
  EXPECT_EQ(on.passes_run.size(), pipeline().size());
  EXPECT_LT(on.steps.size(), off.steps.size());
  EXPECT_LT(on.arena_bytes[size_t(Arena::Transient)], off.arena_bytes[size_t(Arena::Transient)]);
  EXPECT_EQ(off.arena_bytes[size_t(Arena::Transient)], off.naive_transient_bytes);
  int fused = 0;
  for (const Step& s : on.steps) fused += op_def(on.program.graph.node(s.node).op).name == "fused_elementwise";
  EXPECT_GE(fused, 2);  // forward and backward chains
}

TEST(Pipeline, PipelineListsEachPassWithItsFlag) {
  const std::vector<Pass>& ps = pipeline();
  ASSERT_EQ(ps.size(), 6u);
  EXPECT_EQ(ps.front().name, "eliminate_dead_code");
  EXPECT_EQ(ps.back().name, "fuse_elementwise");
  for (const Pass& p : ps) EXPECT_NE(p.enabled, nullptr) << p.name;
}

TEST(Pipeline, ExplainAndDotDescribeThePlan) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {1000}}), b = input(g, "b", {DType::F32, {1000}});
  Var s = ops::sigmoid(a);
  Var t = ops::tanh(b);
  Var y = s * t + a;
  Var z = ops::exp(y + b);
  Plan plan = compile(g, {z.value});
  std::string text = plan.explain();
  for (const char* want : {"passes: eliminate_dead_code fold_constants", "fuse_elementwise", "steps (1):",
                           "[0] fused_elementwise 'exp\u2218add\u2218add\u2218mul\u2218tanh\u2218sigmoid'",
                           "fused: sigmoid, tanh, mul, add, add, exp", "f32[1000]", "transient arena",
                           "(naive", "peak memory", "input", "offset"})
    EXPECT_NE(text.find(want), std::string::npos) << "missing '" << want << "' in\n" << text;

  CompileOptions unfused;
  unfused.fuse_elementwise = false;
  Plan plain = compile(g, {z.value}, unfused);
  std::string text2 = plain.explain();
  EXPECT_NE(text2.find("[5] exp"), std::string::npos) << text2;
  EXPECT_EQ(text2.find("fused:"), std::string::npos);

  std::string dot = plan.dot();
  for (const char* want : {"digraph plan {", "s0 [label=\"[0] fused_elementwise", "fillcolor", "cluster_lifetimes",
                           "-> s0 [label=\"3.9 KB\"]", "-> out0"})
    EXPECT_NE(dot.find(want), std::string::npos) << "missing '" << want << "' in\n" << dot;
  EXPECT_EQ(dot.back(), '\n');
  std::string dot2 = plain.dot();
  EXPECT_NE(dot2.find("s4 -> s5"), std::string::npos) << dot2;
  EXPECT_EQ(dot2.find("fillcolor"), std::string::npos);
}
