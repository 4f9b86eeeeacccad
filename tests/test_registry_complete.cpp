// Every registered op states how it is differentiated, mechanically:
// a leaf, or kNonDifferentiable with a reason, or a gradient rule plus an
// example whose f64 gradient check passes. Every non-leaf op has a shape rule
// and a forward kernel. The loop covers whatever the registry holds, so a new
// op family (or a user op, like swish) is checked without editing this file.
#include <algorithm>
#include <string>

#include "graph/errors.hpp"
#include "examples/swish_op.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

std::vector<const OpDef*> all_ops() {
  examples::register_swish();  // user ops belong to the registry like built-ins
  std::vector<const OpDef*> out;
  for (const OpDef& d : registry().all()) out.push_back(&d);
  return out;
}

bool differentiable(const OpDef& d) { return !d.has(kLeaf) && !d.has(kNonDifferentiable); }

TEST(RegistryComplete, HoldsTheCoreOps) {
  all_ops();
  for (const char* name : {"input", "parameter", "constant", "add", "mul", "tanh", "sum", "reshape", "swish"})
    EXPECT_TRUE(registry().contains(name)) << name;
}

TEST(RegistryComplete, NamesAreUniqueAndNonEmpty) {
  std::vector<std::string> names;
  for (const OpDef* d : all_ops()) {
    EXPECT_FALSE(d->name.empty());
    names.push_back(d->name);
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end()) << "a name is registered twice";
}

TEST(RegistryComplete, EveryNonLeafOpHasShapeRuleAndForward) {
  for (const OpDef* d : all_ops()) {
    if (d->has(kLeaf)) continue;
    EXPECT_NE(d->infer, nullptr) << d->name << " has no shape rule";
    EXPECT_NE(d->forward, nullptr) << d->name << " has no forward kernel";
  }
}

TEST(RegistryComplete, EveryOpStatesItsDifferentiability) {
  for (const OpDef* d : all_ops()) {
    SCOPED_TRACE(d->name);
    if (d->has(kLeaf)) continue;
    if (d->has(kNonDifferentiable)) {
      EXPECT_FALSE(d->why_no_grad.empty()) << d->name << " is non-differentiable without a reason";
      continue;
    }
    EXPECT_NE(d->vjp, nullptr) << d->name << " has no gradient rule";
    EXPECT_NE(d->example, nullptr) << d->name << " has no gradient-check example";
  }
}

TEST(RegistryComplete, ElementwiseOpsProvideBlockFunctions) {
  for (const OpDef* d : all_ops()) {
    if (!d->has(kElementwise)) continue;
    EXPECT_TRUE(d->block_f32 && d->block_f64) << d->name << " is elementwise but cannot be fused";
  }
}

TEST(RegistryComplete, EveryDifferentiableOpPassesItsGradcheck) {
  int checked = 0;
  for (const OpDef* d : all_ops()) {
    if (!differentiable(*d) || !d->example) continue;
    SCOPED_TRACE(d->name);
    test::expect_op_gradcheck(d->name);
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

TEST(RegistryComplete, GradcheckRefusesLeafAndNonDifferentiableOps) {
  all_ops();
  EXPECT_THROW(check_op_gradients("input"), GraphError);
  EXPECT_THROW(check_op_gradients("fill"), GraphError);
  EXPECT_THROW(check_op_gradients("no_such_op"), GraphError);
}

TEST(RegistryComplete, IncompleteDefinitionsAreRefused) {
  OpDef no_kernel;
  no_kernel.name = "test_incomplete";
  EXPECT_THROW(register_op(no_kernel), GraphError);
  OpDef silent = op_def(op_id("tanh"));
  silent.name = "test_no_reason";
  silent.vjp = nullptr;
  silent.flags |= kNonDifferentiable;
  EXPECT_THROW(register_op(silent), GraphError);  // non-differentiable must say why
  silent.flags &= ~uint32_t(kNonDifferentiable);
  EXPECT_THROW(register_op(silent), GraphError);  // differentiable needs a rule
  EXPECT_FALSE(registry().contains("test_incomplete"));
  EXPECT_FALSE(registry().contains("test_no_reason"));
}

}  // namespace
}  // namespace loom
