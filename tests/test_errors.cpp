// Error messages are part of the interface: a shape error names the node id,
// the op, every input's type, the violated rule and the line of user code
// that built the node; other mistakes say what to do. These tests pin the
// content (not the exact wording) of each message.
#include <string>

#include "graph/errors.hpp"
#include "ops/ops.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

// Runs f, which must throw E, and returns the message.
void expect_contains(const std::string& message, const std::string& part) {
  EXPECT_NE(message.find(part), std::string::npos) << "missing \"" << part << "\" in:\n" << message;
}

TEST(Errors, BadAddNamesNodeOpShapesAndSourceLine) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {2, 3}});
  Var b = input(g, "b", {DType::F32, {4, 5}});
  int line = 0;
  std::string m = test::message_of<ShapeError>([&] {
    line = __LINE__; (void)ops::add(a, b);
  });
  expect_contains(m, "#2");  // a is #0, b is #1
  expect_contains(m, "(add)");
  expect_contains(m, "f32[2,3]");
  expect_contains(m, "f32[4,5]");
  expect_contains(m, "'a'");
  expect_contains(m, "'b'");
  expect_contains(m, "tests/test_errors.cpp:" + std::to_string(line));
  EXPECT_EQ(g.size(), 2u) << "a failed node must not be added";
}

// The operator form points at the user's line too (through VarAt).
TEST(Errors, OperatorFormReportsCallerLine) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {2, 3}});
  Var b = input(g, "b", {DType::F32, {4, 5}});
  int line = 0;
  std::string m = test::message_of<ShapeError>([&] {
    line = __LINE__; (void)(a + b);
  });
  expect_contains(m, "tests/test_errors.cpp:" + std::to_string(line));
}

TEST(Errors, NamedInputsAndAttributesAppearInShapeErrors) {
  Graph g;
  Var x = input(g, "enc.states", {DType::F64, {2, 3}});
  std::string m = test::message_of<ShapeError>([&] { (void)ops::reshape(x, {4, 2}); });
  expect_contains(m, "'enc.states'");
  expect_contains(m, "(reshape)");
  expect_contains(m, "f64[2,3]");
  expect_contains(m, "shape=");
  expect_contains(m, "[4,2]");
}

TEST(Errors, DtypeMismatchNamesBothDtypes) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {3}});
  Var b = input(g, "b", {DType::F64, {3}});
  std::string m = test::message_of<ShapeError>([&] { (void)ops::mul(a, b); });
  expect_contains(m, "f32");
  expect_contains(m, "f64");
  expect_contains(m, "(mul)");
}

TEST(Errors, IntegerInputToFloatOpIsRefused) {
  Graph g;
  Var ids = input(g, "ids", {DType::I32, {3}});
  std::string m = test::message_of<ShapeError>([&] { (void)ops::exp(ids); });
  expect_contains(m, "i32");
  expect_contains(m, "(exp)");
}

TEST(Errors, UnknownOpSuggestsCloseNames) {
  std::string m = test::message_of<GraphError>([] { (void)op_id("tanhh"); });
  expect_contains(m, "'tanhh'");
  expect_contains(m, "tanh");
}

TEST(Errors, WrongArityIsAGraphError) {
  Graph g;
  Var a = input(g, "a", {DType::F32, {3}});
  std::string m = test::message_of<GraphError>([&] { (void)apply(op_id("add"), {a}); });
  expect_contains(m, "(add)");
  expect_contains(m, "expected 2 inputs, got 1");
}

TEST(Errors, DuplicateParameterNameNamesIt) {
  Graph g;
  (void)parameter(g, "dec.w", {DType::F32, {3}});
  std::string m = test::message_of<GraphError>([&] { (void)parameter(g, "dec.w", {DType::F32, {3}}); });
  expect_contains(m, "'dec.w'");
  expect_contains(m, "tests/test_errors.cpp:");
}

TEST(Errors, ParameterShapeConflictInStoreNamesBothShapes) {
  ParameterStore params;
  params.declare("emb", {10, 4});
  std::string m = test::message_of<ShapeError>([&] { params.declare("emb", {10, 5}); });
  expect_contains(m, "'emb'");
  expect_contains(m, "[10,4]");
  expect_contains(m, "[10,5]");
}

TEST(Errors, UnknownNodeNameIsAGraphError) {
  Graph g;
  std::string m = test::message_of<GraphError>([&] { (void)g.find("decoder.h0"); });
  expect_contains(m, "'decoder.h0'");
}

}  // namespace
}  // namespace loom
