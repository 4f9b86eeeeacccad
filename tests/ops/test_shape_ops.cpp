// Shape family: reshape, permute/transpose, slice, slice_grad, concat, where,
// masked_fill, cast. Each op: forward against a naive index loop (for f32,
// f64 and i32 where the op moves data of any dtype, at sizes that run both
// single- and multithreaded), an f64 gradient check, and shape errors whose
// message names the op and the shapes.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/grad.hpp"
#include "graph/errors.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

// Multi-index of flat index i in shape s.
std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> idx(size_t(s.rank()));
  for (int d = s.rank() - 1; d >= 0; --d) {
    idx[size_t(d)] = i % s[d];
    i /= s[d];
  }
  return idx;
}
int64_t ravel(const std::vector<int64_t>& idx, const Shape& s) {
  int64_t off = 0;
  for (int d = 0; d < s.rank(); ++d) off = off * s[d] + idx[size_t(d)];
  return off;
}

Tensor run1(const Graph& g, Var y, const test::Feeds& feeds) { return test::run_graph(g, {y}, feeds)[0]; }

template <class F>
std::string shape_error_of(F&& build) { return test::message_of<ShapeError>(build); }
#define EXPECT_HAS(msg, part) EXPECT_NE((msg).find(part), std::string::npos) << "missing '" << (part) << "' in:\n" << (msg)

const DType kAll[] = {DType::F32, DType::F64, DType::I32};

TEST(ShapeOps, Gradchecks) {
  for (const char* op : {"reshape", "permute", "slice", "slice_grad", "concat", "where", "masked_fill", "cast"})
    test::expect_op_gradcheck(op);
}

// ---- reshape --------------------------------------------------------------------------------
TEST(ShapeOps, ReshapeKeepsOrderAndInfersMinusOne) {
  Tensor xv = test::random_tensor(DType::F64, {2, 3, 4}, 1);
  Graph g;
  Var y = ops::reshape(input(g, "x", xv.type()), {4, -1});
  Tensor out = run1(g, y, {{"x", xv}});
  EXPECT_EQ(out.shape(), Shape({4, 6}));
  EXPECT_EQ(out.to_vector(), xv.to_vector());
}

TEST(ShapeOps, BadReshapeNamesOpAndBothShapes) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {2, 6}});
  std::string msg = shape_error_of([&] { (void)ops::reshape(x, {5, 3}); });
  EXPECT_HAS(msg, "(reshape)");
  EXPECT_HAS(msg, "[2,6]");
  EXPECT_HAS(msg, "[5,3]");
  msg = shape_error_of([&] { (void)ops::reshape(x, {5, -1}); });
  EXPECT_HAS(msg, "[2,6]");
  EXPECT_HAS(msg, "[5,-1]");
  msg = shape_error_of([&] { (void)ops::reshape(x, {-1, -1}); });
  EXPECT_HAS(msg, "more than one -1");
}

// ---- permute / transpose -----------------------------------------------------------------------
void check_permute(Shape xs, std::vector<int64_t> perm, DType dt) {
  Tensor xv = test::random_tensor(dt, xs, 5, -1000, 1000);
  Graph g;
  Tensor out = run1(g, ops::permute(input(g, "x", xv.type()), perm), {{"x", xv}});
  ASSERT_EQ(out.shape().rank(), xs.rank());
  for (int i = 0; i < xs.rank(); ++i) ASSERT_EQ(out.shape()[i], xs[int(perm[size_t(i)])]);
  for (int64_t i = 0; i < out.numel(); ++i) {
    std::vector<int64_t> oi = unravel(i, out.shape()), xi(oi.size());
    for (size_t d = 0; d < oi.size(); ++d) xi[size_t(perm[d])] = oi[d];
    ASSERT_EQ(out.at(i), xv.at(ravel(xi, xs))) << xs.str() << " at " << i;
  }
}

TEST(ShapeOps, PermuteMatchesNaiveForEveryPermutation) {
  for (Shape xs : {Shape{2, 3, 4}, Shape{2, 3, 4, 5}, Shape{40, 33, 30}}) {
    std::vector<int64_t> perm(size_t(xs.rank()));
    std::iota(perm.begin(), perm.end(), 0);
    do {
      for (DType dt : kAll) check_permute(xs, perm, dt);
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

TEST(ShapeOps, TransposeSwapsTwoAxes) {
  Tensor xv = test::random_tensor(DType::F32, {2, 3, 4}, 2);
  Graph g;
  Var x = input(g, "x", xv.type());
  auto out = test::run_graph(g, {ops::transpose(x), ops::transpose(x, 0, 2)}, {{"x", xv}});
  EXPECT_EQ(out[0].shape(), Shape({2, 4, 3}));
  EXPECT_EQ(out[1].shape(), Shape({4, 3, 2}));
  EXPECT_EQ(out[0].at(ravel({1, 3, 2}, out[0].shape())), xv.at(ravel({1, 2, 3}, xv.shape())));
  EXPECT_EQ(out[1].at(ravel({3, 1, 0}, out[1].shape())), xv.at(ravel({0, 1, 3}, xv.shape())));
}

TEST(ShapeOps, BadPermuteNamesOpAndShape) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {2, 3}});
  for (std::vector<int64_t> perm : {std::vector<int64_t>{0, 0}, {0}, {0, 2}, {1, 0, 2}}) {
    std::string msg = shape_error_of([&] { (void)ops::permute(x, perm); });
    EXPECT_HAS(msg, "(permute)");
    EXPECT_HAS(msg, "[2,3]");
  }
  std::string msg = shape_error_of([&] { (void)ops::transpose(x, 0, 2); });
  EXPECT_HAS(msg, "(permute)");
  EXPECT_HAS(msg, "[2,3]");
}

// ---- slice / slice_grad ------------------------------------------------------------------------
TEST(ShapeOps, SliceMatchesNaive) {
  struct Case { Shape xs; int64_t axis, begin, end; };
  for (const Case& cs : {Case{{3, 5, 2}, 1, 1, 4}, Case{{3, 5, 2}, 0, -2, 3}, Case{{3, 5, 2}, -1, 1, 2},
                         Case{{7}, 0, 0, 7}, Case{{300, 400}, 1, 100, -1}, Case{{300, 400}, 0, 17, 299}}) {
    for (DType dt : kAll) {
      Tensor xv = test::random_tensor(dt, cs.xs, 3, -1000, 1000);
      Graph g;
      Tensor out = run1(g, ops::slice(input(g, "x", xv.type()), cs.axis, cs.begin, cs.end), {{"x", xv}});
      int ax = cs.xs.normalize_axis(int(cs.axis));
      int64_t begin = cs.begin < 0 ? cs.begin + cs.xs[ax] : cs.begin;
      int64_t end = cs.end < 0 ? cs.end + cs.xs[ax] : cs.end;
      Shape want = cs.xs;
      want[ax] = end - begin;
      ASSERT_EQ(out.shape(), want);
      for (int64_t i = 0; i < out.numel(); ++i) {
        std::vector<int64_t> idx = unravel(i, want);
        idx[size_t(ax)] += begin;
        ASSERT_EQ(out.at(i), xv.at(ravel(idx, cs.xs))) << cs.xs.str() << " at " << i;
      }
    }
  }
}

// slice's gradient is slice_grad: dy written into zeros of the input's shape.
TEST(ShapeOps, SliceGradientPadsWithZeros) {
  for (Shape xs : {Shape{3, 5, 2}, Shape{200, 300}}) {
    Tensor xv = test::random_tensor(DType::F64, xs, 4);
    Graph g;
    Var x = input(g, "x", xv.type());
    Var y = ops::slice(x, 1, 1, 4);
    Tensor w = test::random_tensor(DType::F64, y.shape(), 9);
    Var dx = grad(ops::sum(y * constant(g, w)), {x})[0];
    Tensor got = run1(g, dx, {{"x", xv}});
    ASSERT_EQ(got.shape(), xs);
    for (int64_t i = 0; i < got.numel(); ++i) {
      std::vector<int64_t> idx = unravel(i, xs);
      bool inside = idx[1] >= 1 && idx[1] < 4;
      idx[1] -= 1;
      ASSERT_EQ(got.at(i), inside ? w.at(ravel(idx, y.shape())) : 0.0) << i;
    }
  }
}

TEST(ShapeOps, BadSliceNamesOpAndShape) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {2, 3}});
  struct Bad { int64_t axis, begin, end; };
  for (Bad b : {Bad{2, 0, 1}, Bad{-3, 0, 1}, Bad{1, 2, 2}, Bad{1, 0, 4}, Bad{0, -3, 1}, Bad{1, 2, 1}}) {
    std::string msg = shape_error_of([&] { (void)ops::slice(x, b.axis, b.begin, b.end); });
    EXPECT_HAS(msg, "(slice)");
    EXPECT_HAS(msg, "[2,3]");
  }
}

// ---- concat -----------------------------------------------------------------------------------
TEST(ShapeOps, ConcatMatchesNaive) {
  struct Case { std::vector<Shape> shapes; int64_t axis; };
  for (const Case& cs : {Case{{{2, 1, 3}, {2, 4, 3}, {2, 2, 3}}, 1}, Case{{{1, 3}, {4, 3}}, 0},
                         Case{{{2, 3, 1}, {2, 3, 2}}, -1}, Case{{{5}, {1}, {2}}, 0},
                         Case{{{200, 100}, {200, 300}}, 1}}) {
    for (DType dt : kAll) {
      Graph g;
      std::vector<Var> xs;
      test::Feeds feeds;
      for (size_t k = 0; k < cs.shapes.size(); ++k) {
        feeds.emplace_back("x" + std::to_string(k), test::random_tensor(dt, cs.shapes[k], 10 + k, -1000, 1000));
        xs.push_back(input(g, feeds.back().first, feeds.back().second.type()));
      }
      Tensor out = run1(g, ops::concat(xs, cs.axis), feeds);
      int ax = cs.shapes[0].normalize_axis(int(cs.axis));
      for (int64_t i = 0; i < out.numel(); ++i) {
        std::vector<int64_t> idx = unravel(i, out.shape());
        size_t k = 0;
        while (idx[size_t(ax)] >= cs.shapes[k][ax]) idx[size_t(ax)] -= cs.shapes[k++][ax];
        ASSERT_EQ(out.at(i), feeds[k].second.at(ravel(idx, cs.shapes[k]))) << i;
      }
    }
  }
}

TEST(ShapeOps, ConcatMismatchNamesOpAndBothShapes) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {2, 4}});
  Var b = input(g, "b", {DType::F32, {3, 5}});
  std::string msg = shape_error_of([&] { (void)ops::concat({a, b}, 1); });
  EXPECT_HAS(msg, "(concat)");
  EXPECT_HAS(msg, "[2,4]");
  EXPECT_HAS(msg, "[3,5]");
  msg = shape_error_of([&] { (void)ops::concat({a, a}, 2); });
  EXPECT_HAS(msg, "(concat)");
  EXPECT_HAS(msg, "axis 2");
  Var c = input(g, "c", {DType::F64, {2, 4}});
  msg = shape_error_of([&] { (void)ops::concat({a, c}, 0); });
  EXPECT_HAS(msg, "f32[2,4]");
  EXPECT_HAS(msg, "f64[2,4]");
  Var d = input(g, "d", {DType::F32, {2, 4, 1}});
  msg = shape_error_of([&] { (void)ops::concat({a, d}, 0); });
  EXPECT_HAS(msg, "[2,4,1]");
  EXPECT_THROW((void)ops::concat({}, 0), ShapeError);
}

// ---- where / masked_fill ------------------------------------------------------------------------
Tensor some_mask(DType dt, Shape s, uint64_t seed) {
  Tensor t = test::random_tensor(DType::F64, s, seed);
  Tensor m(dt, s);
  for (int64_t i = 0; i < t.numel(); ++i) m.set(i, t.at(i) > 0.2 ? 0 : (t.at(i) > -0.4 ? 1 : -2));
  return m;
}

TEST(ShapeOps, WhereMatchesNaive) {
  for (Shape s : {Shape{3, 4}, Shape{100, 500}}) {
    for (DType cdt : kAll) {
      for (DType dt : kAll) {
        Tensor cv = some_mask(cdt, s, 1), av = test::random_tensor(dt, s, 2, -9, 9),
               bv = test::random_tensor(dt, s, 3, -9, 9);
        Graph g;
        Var y = ops::where(input(g, "c", cv.type()), input(g, "a", av.type()), input(g, "b", bv.type()));
        Tensor out = run1(g, y, {{"c", cv}, {"a", av}, {"b", bv}});
        ASSERT_EQ(out.dtype(), dt);
        for (int64_t i = 0; i < out.numel(); ++i) ASSERT_EQ(out.at(i), cv.at(i) != 0 ? av.at(i) : bv.at(i)) << i;
      }
    }
  }
}

TEST(ShapeOps, WhereNeedsEqualShapes) {
  Graph g;
  Var c = input(g, "c", {DType::I32, {2, 3}});
  Var a = input(g, "a", {DType::F32, {2, 3}});
  Var b = input(g, "b", {DType::F32, {3}});
  std::string msg = shape_error_of([&] { (void)ops::where(c, a, b); });
  EXPECT_HAS(msg, "(where)");
  EXPECT_HAS(msg, "f32[2,3]");
  EXPECT_HAS(msg, "f32[3]");
}

// cond gets a zero gradient even when it is a float on the gradient path.
TEST(ShapeOps, WhereConditionGetsZeroGradient) {
  Graph g;
  Var c = input(g, "c", {DType::F64, {4}});
  Var a = input(g, "a", {DType::F64, {4}});
  auto d = grad(ops::sum(ops::where(c, a * c, a)), {c, a});
  Tensor cv = Tensor::from_f64({4}, std::vector<double>{0, 2, 0, -3});
  auto out = test::run_graph(g, d, {{"c", cv}, {"a", Tensor::from_f64({4}, std::vector<double>{1, 1, 1, 1})}});
  EXPECT_EQ(out[0].to_vector(), (std::vector<double>{0, 1, 0, 1}));   // only through a*c
  EXPECT_EQ(out[1].to_vector(), (std::vector<double>{1, 2, 1, -3}));
}

TEST(ShapeOps, MaskedFillMatchesNaive) {
  for (Shape xs : {Shape{3, 4}, Shape{2, 3, 4}, Shape{80, 600}}) {
    std::vector<Shape> masks = {xs, Shape{xs[xs.rank() - 1]}, Shape{}};
    Shape col = xs;
    col[col.rank() - 1] = 1;
    masks.push_back(col);
    for (const Shape& ms : masks) {
      for (DType mdt : kAll) {
        for (DType dt : kAll) {
          Tensor xv = test::random_tensor(dt, xs, 4, -9, 9), mv = some_mask(mdt, ms, 5);
          Graph g;
          Tensor out = run1(g, ops::masked_fill(input(g, "x", xv.type()), input(g, "m", mv.type()), -7.0),
                            {{"x", xv}, {"m", mv}});
          ASSERT_EQ(out.type(), xv.type());
          for (int64_t i = 0; i < out.numel(); ++i) {
            std::vector<int64_t> idx = unravel(i, xs), mi;
            for (int d = 0; d < ms.rank(); ++d) mi.push_back(ms[d] == 1 ? 0 : idx[size_t(d + xs.rank() - ms.rank())]);
            ASSERT_EQ(out.at(i), mv.at(ravel(mi, ms)) != 0 ? -7.0 : xv.at(i)) << xs.str() << " mask " << ms.str();
          }
        }
      }
    }
  }
}

TEST(ShapeOps, MaskedFillMaskMustBroadcast) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {2, 3}});
  for (Shape ms : {Shape{2}, Shape{3, 3}, Shape{1, 2, 3}}) {
    Var m = input(g, "m" + ms.str(), {DType::I32, ms});
    std::string msg = shape_error_of([&] { (void)ops::masked_fill(x, m, 0.0); });
    EXPECT_HAS(msg, "(masked_fill)");
    EXPECT_HAS(msg, "[2,3]");
    EXPECT_HAS(msg, ms.str());
  }
}

// ---- cast -----------------------------------------------------------------------------------
TEST(ShapeOps, CastConvertsEveryPair) {
  std::vector<double> vals = {0.0, 1.75, -1.75, 3.0, -2.5, 100.25, -7.0};
  for (DType from : kAll) {
    for (DType to : kAll) {
      Tensor xv(from, {7});
      for (int64_t i = 0; i < 7; ++i) xv.set(i, vals[size_t(i)]);
      Graph g;
      Var x = input(g, "x", xv.type());
      Tensor out = run1(g, ops::cast(x, to), {{"x", xv}});
      ASSERT_EQ(out.dtype(), to);
      for (int64_t i = 0; i < 7; ++i) {
        double want = to == DType::I32 ? std::trunc(xv.at(i)) : xv.at(i);  // to i32 truncates toward zero
        EXPECT_EQ(out.at(i), want) << dtype_name(from) << "->" << dtype_name(to) << " at " << i;
      }
    }
  }
}

TEST(ShapeOps, CastToIntSaturatesAndMapsNanToZero) {
  Tensor xv = Tensor::from_f64({4}, std::vector<double>{NAN, 1e12, -1e12, 2147483646.0});
  Graph g;
  Tensor out = run1(g, ops::cast(input(g, "x", xv.type()), DType::I32), {{"x", xv}});
  EXPECT_EQ(out.to_vector(), (std::vector<double>{0, 2147483647.0, -2147483648.0, 2147483646.0}));
}

TEST(ShapeOps, CastGradientIsCastBack) {
  Graph g;
  Var x = input(g, "x", {DType::F32, {3}});
  Var dx = grad(ops::sum(ops::cast(x, DType::F64) * 3.0), {x})[0];
  EXPECT_EQ(dx.dtype(), DType::F32);
  Tensor out = run1(g, dx, {{"x", test::random_tensor(DType::F32, {3}, 1)}});
  EXPECT_EQ(out.to_vector(), (std::vector<double>{3, 3, 3}));
}

TEST(ShapeOps, CastToIntRefusesDifferentiationNamingTheNode) {
  for (bool through_where : {false, true}) {
    Graph g;
    Var x = input(g, "x", {DType::F64, {3}});
    Var xi = named(ops::cast(x, DType::I32), "rounded");
    Var y = through_where ? ops::where(xi, x, x * 2.0) : ops::cast(xi, DType::F64) * x;
    try {
      (void)grad(ops::sum(y), {x});
      ADD_FAILURE() << "no GraphError";
    } catch (const GraphError& e) {
      std::string msg = e.what();
      EXPECT_HAS(msg, "'rounded' (cast)");
      EXPECT_HAS(msg, "to i32");
    }
  }
}

// An integer input cast to float is not on any gradient path.
TEST(ShapeOps, IntegerInputsCastToFloatNeedNoGradient) {
  Graph g;
  Var x = input(g, "x", {DType::F64, {3}});
  Var m = input(g, "m", {DType::I32, {3}});
  Var dx = grad(ops::sum(x * ops::cast(m, DType::F64)), {x})[0];
  Tensor out = run1(g, dx, {{"x", test::random_tensor(DType::F64, {3}, 1)},
                            {"m", Tensor::from_i32({3}, std::vector<int32_t>{2, 0, -1})}});
  EXPECT_EQ(out.to_vector(), (std::vector<double>{2, 0, -1}));
}

}  // namespace
}  // namespace loom
