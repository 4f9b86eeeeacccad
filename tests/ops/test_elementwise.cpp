// Elementwise ops (ops/elementwise.cpp): every op's forward against a naive
// reference written here, in f32 and f64, over broadcasting patterns, rank 0,
// and sizes large enough to run on an OpenMP team; every op's f64 gradient
// check; and the shape-rule errors (dtype mismatch, incompatible broadcast).
#include <cmath>
#include <functional>

#include "graph/errors.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

using Unary = std::function<double(double)>;
using Binary = std::function<double(double, double)>;

struct UnaryCase {
  const char* name;
  Var (*build)(Var, std::source_location);
  Unary ref;
  double lo, hi;  // input range inside the op's domain
};
struct BinaryCase {
  const char* name;
  Var (*build)(Var, Var, std::source_location);
  Binary ref;
  double lo, hi;  // range of the right operand
};

const UnaryCase kUnary[] = {
    {"neg", ops::neg, [](double x) { return -x; }, -2, 2},
    {"exp", ops::exp, [](double x) { return std::exp(x); }, -3, 3},
    {"log", ops::log, [](double x) { return std::log(x); }, 0.1, 5},
    {"sqrt", ops::sqrt, [](double x) { return std::sqrt(x); }, 0.0, 5},
    {"sigmoid", ops::sigmoid, [](double x) { return 1 / (1 + std::exp(-x)); }, -6, 6},
    {"tanh", ops::tanh, [](double x) { return std::tanh(x); }, -4, 4},
    {"relu", ops::relu, [](double x) { return x > 0 ? x : 0.0; }, -2, 2},
};
const BinaryCase kBinary[] = {
    {"add", ops::add, [](double a, double b) { return a + b; }, -2, 2},
    {"sub", ops::sub, [](double a, double b) { return a - b; }, -2, 2},
    {"mul", ops::mul, [](double a, double b) { return a * b; }, -2, 2},
    {"div", ops::div, [](double a, double b) { return a / b; }, 0.5, 3},
};

// Flat index into `in` of output element i, NumPy broadcasting (naive: digit by digit).
int64_t source_index(int64_t i, const Shape& out, const Shape& in) {
  int64_t src = 0, stride = 1;
  for (int d = out.rank() - 1; d >= 0; --d) {
    int64_t coord = i % out[d];
    i /= out[d];
    int din = d - (out.rank() - in.rank());
    if (din < 0) continue;
    if (in[din] != 1) src += coord * stride;
    stride *= in[din];
  }
  return src;
}

double tolerance(DType dt) { return dt == DType::F32 ? 2e-6 : 1e-14; }

void check_unary(const UnaryCase& c, DType dt, const Shape& shape) {
  SCOPED_TRACE(std::string(c.name) + " " + std::string(dtype_name(dt)) + shape.str());
  Graph g;
  Var x = input(g, "x", {dt, shape});
  Tensor xv = test::random_tensor(dt, shape, 17, c.lo, c.hi);
  Tensor out = test::run_graph(g, {c.build(x, std::source_location::current())}, {{"x", xv}})[0];
  Tensor ref(dt, shape);
  for (int64_t i = 0; i < ref.numel(); ++i) ref.set(i, c.ref(xv.at(i)));
  ASSERT_EQ(out.type(), ref.type());
  EXPECT_LE(test::rel_l2_error(out, ref), tolerance(dt));
}

void check_binary(const BinaryCase& c, DType dt, const Shape& sa, const Shape& sb, const Shape& expected) {
  SCOPED_TRACE(std::string(c.name) + " " + std::string(dtype_name(dt)) + sa.str() + " with " + sb.str());
  Graph g;
  Var a = input(g, "a", {dt, sa});
  Var b = input(g, "b", {dt, sb});
  Var y = c.build(a, b, std::source_location::current());
  ASSERT_EQ(y.shape(), expected);
  Tensor av = test::random_tensor(dt, sa, 1, -2, 2), bv = test::random_tensor(dt, sb, 2, c.lo, c.hi);
  Tensor out = test::run_graph(g, {y}, {{"a", av}, {"b", bv}})[0];
  Tensor ref(dt, expected);
  for (int64_t i = 0; i < ref.numel(); ++i)
    ref.set(i, c.ref(av.at(source_index(i, expected, sa)), bv.at(source_index(i, expected, sb))));
  EXPECT_LE(test::rel_l2_error(out, ref), tolerance(dt));
}

TEST(Elementwise, UnaryForwardMatchesReference) {
  for (const UnaryCase& c : kUnary)
    for (DType dt : {DType::F32, DType::F64})
      for (const Shape& s : {Shape{}, Shape{1}, Shape{7}, Shape{3, 5}, Shape{2, 3, 4, 5}}) check_unary(c, dt, s);
}

TEST(Elementwise, UnaryForwardLargeRunsOnTeam) {  // 300·257 elements > opu::kParallelGrain
  for (const UnaryCase& c : kUnary) check_unary(c, DType::F32, {300, 257});
}

struct Pattern {
  Shape a, b, out;
};
const Pattern kPatterns[] = {
    {{3, 4}, {3, 4}, {3, 4}},           // same shape
    {{3, 4}, {4}, {3, 4}},              // row vector along rows
    {{4}, {3, 4}, {3, 4}},              // ... on the left
    {{3, 1}, {1, 4}, {3, 4}},           // outer product shape
    {{3, 4}, {}, {3, 4}},               // rank-0 scalar
    {{}, {3, 4}, {3, 4}},
    {{}, {}, {}},                       // rank 0 with rank 0
    {{1}, {5}, {5}},
    {{2, 1, 4}, {3, 1}, {2, 3, 4}},     // rank 3 with rank 2, both stretched
    {{2, 3, 1, 5}, {1, 3, 4, 1}, {2, 3, 4, 5}},
    {{3, 4}, {3, 1}, {3, 4}},           // column vector
};

TEST(Elementwise, BinaryForwardBroadcastPatterns) {
  for (const BinaryCase& c : kBinary)
    for (DType dt : {DType::F32, DType::F64})
      for (const Pattern& p : kPatterns) check_binary(c, dt, p.a, p.b, p.out);
}

TEST(Elementwise, BinaryForwardLargeRunsOnTeam) {
  for (const BinaryCase& c : kBinary) {
    check_binary(c, DType::F32, {300, 257}, {300, 257}, {300, 257});  // contiguous path
    check_binary(c, DType::F32, {300, 257}, {257}, {300, 257});       // broadcast rows
    check_binary(c, DType::F32, {300, 1}, {1, 257}, {300, 257});      // both stretched
    check_binary(c, DType::F64, {64, 2, 300}, {2, 1}, {64, 2, 300});  // stride-0 inner axis
  }
}

TEST(Elementwise, ReluGradForward) {  // dy where x > 0, else 0
  Graph g;
  Var dy = input(g, "dy", {DType::F64, {2, 3}});
  Var x = input(g, "x", {DType::F64, {2, 3}});
  Var y = apply(op_id("relu_grad"), {dy, x});
  Tensor out = test::run_graph(g, {y}, {{"dy", Tensor::from_f64({2, 3}, std::vector<double>{1, 2, 3, 4, 5, 6})},
                                        {"x", Tensor::from_f64({2, 3}, std::vector<double>{-1, 0, 1, 2, -3, 0.5})}})[0];
  EXPECT_EQ(out.to_vector(), (std::vector<double>{0, 0, 3, 4, 0, 6}));
}

TEST(Elementwise, FillAndZerosLike) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {2, 2}});
  Var f = ops::fill(g, {DType::F64, {3}}, 2.5);
  Var z = ops::zeros_like(x);
  EXPECT_EQ(z.type(), x.type());
  auto out = test::run_graph(g, {f, z}, {{"x", test::random_tensor(DType::F32, {2, 2}, 1)}});
  EXPECT_EQ(out[0].to_vector(), (std::vector<double>{2.5, 2.5, 2.5}));
  EXPECT_EQ(out[1].to_vector(), (std::vector<double>{0, 0, 0, 0}));
}

TEST(Elementwise, ScalarOperatorsBroadcast) {  // x*2 + 1 - x/4 uses rank-0 constants
  Graph g;
  Var x = input(g, "x", {DType::F32, {5}});
  Var y = x * 2.0 + 1.0 - x / 4.0;
  Tensor xv = test::random_tensor(DType::F32, {5}, 3);
  Tensor out = test::run_graph(g, {y}, {{"x", xv}})[0];
  for (int64_t i = 0; i < 5; ++i) EXPECT_NEAR(out.at(i), xv.at(i) * 2 + 1 - xv.at(i) / 4, 1e-6);
}

TEST(Elementwise, OptimisedAndPlainPlansAgree) {  // the compiler's passes must not change values
  Graph g;
  Var a = input(g, "a", {DType::F64, {40, 33}});
  Var b = input(g, "b", {DType::F64, {33}});
  Var y = ops::tanh(a * b + a) - ops::sigmoid(b) * ops::exp(ops::neg(a)) / (b * b + 1.0);
  test::Feeds feeds{{"a", test::random_tensor(DType::F64, {40, 33}, 1)}, {"b", test::random_tensor(DType::F64, {33}, 2)}};
  Tensor opt = test::run_graph(g, {y}, feeds)[0];
  Tensor plain = test::run_graph(g, {y}, feeds, CompileOptions::none())[0];
  EXPECT_LE(test::max_abs_diff(opt, plain), 1e-14);
}

TEST(Elementwise, Gradchecks) {
  for (const char* op : {"add", "sub", "mul", "div", "neg", "exp", "log", "sqrt", "sigmoid", "tanh", "relu", "relu_grad"})
    test::expect_op_gradcheck(op);
}

TEST(Elementwise, DtypeMismatchIsAShapeError) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {3}});
  Var b = input(g, "b", {DType::F64, {3}});
  Var i = input(g, "i", {DType::I32, {3}});
  EXPECT_THROW(ops::add(a, b), ShapeError);
  EXPECT_THROW(ops::div(b, a), ShapeError);
  EXPECT_THROW(ops::mul(i, i), ShapeError);
  EXPECT_THROW(ops::tanh(i), ShapeError);
}

TEST(Elementwise, IncompatibleBroadcastIsAShapeError) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {3, 4}});
  for (const Shape& bad : {Shape{3}, Shape{2, 4}, Shape{4, 3}, Shape{2, 3, 5}}) {
    Var b = input(g, "b" + bad.str(), {DType::F32, bad});
    EXPECT_THROW(ops::sub(a, b), ShapeError) << bad.str();
  }
}

}  // namespace
}  // namespace loom
