// embedding and embedding_grad: gather against a naive reference for several
// id ranks, scatter-add against a serial reference (bitwise, since the order
// of the sums is fixed), the gradient through grad(), run-time id errors,
// shape errors and the f64 gradient checks.
#include <omp.h>

#include "autograd/grad.hpp"
#include "graph/errors.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

Tensor random_ids(Shape shape, int32_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Tensor t(DType::I32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, double(rng() % uint64_t(vocab)));
  return t;
}

TEST(Embedding, ForwardMatchesReference) {
  const int64_t vocab = 7, width = 4;
  for (Shape ids_shape : {Shape{}, Shape{5}, Shape{2, 3}, Shape{2, 2, 3}})
    for (DType dt : {DType::F32, DType::F64}) {
      Graph g;
      Var table = input(g, "table", {dt, {vocab, width}});
      Var ids = input(g, "ids", {DType::I32, ids_shape});
      Tensor tv = test::random_tensor(dt, {vocab, width}, 1), iv = random_ids(ids_shape, int32_t(vocab), 2);
      auto out = test::run_graph(g, {ops::embedding(table, ids)}, {{"table", tv}, {"ids", iv}});
      Shape want = ids_shape;
      want.push_back(width);
      ASSERT_EQ(out[0].shape(), want);
      for (int64_t i = 0; i < iv.numel(); ++i)
        for (int64_t e = 0; e < width; ++e)
          EXPECT_EQ(out[0].at(i * width + e), tv.at(int64_t(iv.at(i)) * width + e));
    }
}

// Serial scatter-add in id order: the kernel adds in the same order per
// element, so the results agree exactly, whatever the thread count.
Tensor ref_scatter(const Tensor& ids, const Tensor& dy, int64_t vocab, int64_t width) {
  std::vector<float> acc(size_t(vocab * width), 0.0f);
  for (int64_t i = 0; i < ids.numel(); ++i)
    for (int64_t e = 0; e < width; ++e) acc[size_t(int64_t(ids.at(i)) * width + e)] += float(dy.at(i * width + e));
  return Tensor::from_f32({vocab, width}, acc);
}

TEST(EmbeddingGrad, ScatterAddIsExactAndThreadIndependent) {
  const int64_t vocab = 50, width = 40;  // 64·64·40 > the parallel grain
  Tensor iv = random_ids({64, 64}, int32_t(vocab), 3);
  Tensor dyv = test::random_tensor(DType::F32, {64, 64, width}, 4);
  Graph g;
  Var ids = input(g, "ids", {DType::I32, {64, 64}});
  Var dy = input(g, "dy", {DType::F32, {64, 64, width}});
  Var dt = apply(op_id("embedding_grad"), {ids, dy}, {{"vocab", vocab}});
  Tensor ref = ref_scatter(iv, dyv, vocab, width);
  int threads = omp_get_max_threads();
  for (int n : {1, 2, 3}) {
    omp_set_num_threads(n);
    auto out = test::run_graph(g, {dt}, {{"ids", iv}, {"dy", dyv}});
    EXPECT_EQ(test::max_abs_diff(out[0], ref), 0.0) << n << " threads";
  }
  omp_set_num_threads(threads);
}

TEST(Embedding, GradientIsScatterOfAdjoint) {
  Graph g;
  Var table = input(g, "table", {DType::F64, {6, 3}});
  Var ids = input(g, "ids", {DType::I32, {2, 4}});
  Tensor r = test::random_tensor(DType::F64, {2, 4, 3}, 5);
  Var dtable = grad(ops::sum(ops::embedding(table, ids) * constant(g, r)), {table})[0];
  Tensor iv = test::int_tensor({2, 4}, {5, 0, 5, 2, 2, 5, 1, 0});  // 3 and 4 unused: zero rows
  auto out = test::run_graph(g, {dtable}, {{"table", test::random_tensor(DType::F64, {6, 3}, 6)}, {"ids", iv}});
  Tensor ref(DType::F64, {6, 3});
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t e = 0; e < 3; ++e) {
      int64_t k = int64_t(iv.at(i)) * 3 + e;
      ref.set(k, ref.at(k) + r.at(i * 3 + e));
    }
  EXPECT_LT(test::max_abs_diff(out[0], ref), 1e-15);
}

std::string run_error(std::vector<int32_t> ids, bool backward) {
  Graph g;
  Var table = input(g, "table", {DType::F32, {10, 3}});
  Var idv = input(g, "ids", {DType::I32, {2, 3}});
  Var y = ops::embedding(table, idv);
  Var out = backward ? grad(ops::sum(y), {table})[0] : y;
  try {
    test::run_graph(g, {out}, {{"table", test::random_tensor(DType::F32, {10, 3}, 1)}, {"ids", test::int_tensor({2, 3}, ids)}});
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(Embedding, OutOfRangeIdNamesIdPositionAndV) {
  for (bool backward : {false, true}) {
    std::string msg = run_error({0, 1, 2, 3, 12, 5}, backward);
    EXPECT_NE(msg.find("id 12 at position [1,1]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("V=10"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(embedding"), std::string::npos) << msg;  // the executor names the node
    msg = run_error({0, -1, 2, 3, 4, 5}, backward);
    EXPECT_NE(msg.find("id -1 at position [0,1]"), std::string::npos) << msg;
  }
  EXPECT_EQ(run_error({0, 9, 2, 3, 4, 5}, false), "");
}

TEST(Embedding, Gradchecks) {
  test::expect_op_gradcheck("embedding");
  test::expect_op_gradcheck("embedding_grad");
}

TEST(Embedding, ShapeErrors) {
  Graph g;
  Var table = input(g, "table", {DType::F32, {10, 3}});
  Var ids = input(g, "ids", {DType::I32, {2, 3}});
  EXPECT_THROW(ops::embedding(table, input(g, "fids", {DType::F32, {2, 3}})), ShapeError);
  EXPECT_THROW(ops::embedding(input(g, "t1", {DType::F32, {10}}), ids), ShapeError);
  EXPECT_THROW(ops::embedding(input(g, "ti", {DType::I32, {10, 3}}), ids), ShapeError);
  EXPECT_THROW(ops::embedding(table, input(g, "ids4", {DType::I32, {2, 2, 2, 2}})), ShapeError);
  EXPECT_THROW(apply(op_id("embedding_grad"), {ids, input(g, "dy", {DType::F32, {2, 4, 3}})}, {{"vocab", int64_t(10)}}),
               ShapeError);
  EXPECT_THROW(apply(op_id("embedding_grad"), {ids, input(g, "dy2", {DType::F32, {2, 3}})}, {{"vocab", int64_t(10)}}),
               ShapeError);
}

}  // namespace
}  // namespace loom
