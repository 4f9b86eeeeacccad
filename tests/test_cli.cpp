// The `loom` command, run as a user would: $LOOM_BIN (set by CMake for every
// test) with real arguments, checking exit status and output. The expected
// set of gradcheck lines comes from this process's registry, which holds the
// same built-in ops plus swish, the user op loom links in at start-up.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "graph/op_def.hpp"
#include "examples/swish_op.hpp"
#include "tests/support/op_test.hpp"
#include "tests/support/run_loom.hpp"

namespace loom {
namespace {

using test::LoomRun;
LoomRun loom(const std::string& args) { return test::run_loom(args); }

// "name  OK  max_err=…" -> name; anything else -> "". (No std::regex: g++ 12
// warns inside it under the sanitizers, and warnings are errors.)
std::string ok_line_op(const std::string& line) {
  std::istringstream words(line);
  std::string name, status, err;
  if (!(words >> name >> status >> err) || status != "OK" || err.rfind("max_err=", 0) != 0) return {};
  return name;
}

bool has_ok_line(const std::string& output, const std::string& op) {
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);)
    if (ok_line_op(line) == op) return true;
  return false;
}

std::set<std::string> differentiable_ops() {
  examples::register_swish();
  std::set<std::string> names;
  for (const OpDef& d : registry().all())
    if (!d.has(kLeaf) && !d.has(kNonDifferentiable)) names.insert(d.name);
  return names;
}

TEST(Cli, HelpListsCommands) {
  LoomRun r = loom("--help");
  EXPECT_EQ(r.status, 0) << r.all;
  for (const char* word : {"usage: loom", "gradcheck", "explain"}) EXPECT_NE(r.all.find(word), std::string::npos) << word;
}

TEST(Cli, NoCommandOrUnknownCommandFails) {
  LoomRun none = loom("");
  EXPECT_NE(none.status, 0);
  EXPECT_NE(none.all.find("usage: loom"), std::string::npos) << none.all;
  LoomRun bad = loom("frobnicate");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.all.find("unknown command 'frobnicate'"), std::string::npos) << bad.all;
  EXPECT_NE(bad.all.find("usage: loom"), std::string::npos) << bad.all;
}

TEST(Cli, GradcheckAllPrintsOneOkLinePerDifferentiableOp) {
  LoomRun r = loom("gradcheck --all");
  EXPECT_EQ(r.status, 0) << r.all;
  std::set<std::string> expected = differentiable_ops(), seen;
  std::istringstream lines(r.all);
  int ok_lines = 0;
  for (std::string line; std::getline(lines, line);) {
    std::string op = ok_line_op(line);
    if (op.empty()) continue;
    ++ok_lines;
    EXPECT_TRUE(seen.insert(op).second) << "op listed twice: " << op;
  }
  EXPECT_EQ(ok_lines, int(expected.size())) << r.all;
  EXPECT_EQ(seen, expected) << r.all;
  EXPECT_TRUE(seen.count("swish")) << "the user op linked into loom is checked too";
  EXPECT_EQ(r.all.find("FAIL"), std::string::npos) << r.all;
}

TEST(Cli, GradcheckOneOp) {
  LoomRun r = loom("gradcheck --op tanh --op swish");
  EXPECT_EQ(r.status, 0) << r.all;
  EXPECT_TRUE(has_ok_line(r.all, "tanh")) << r.all;
  EXPECT_TRUE(has_ok_line(r.all, "swish")) << r.all;
}

TEST(Cli, GradcheckUnknownOpFailsWithMessage) {
  LoomRun r = loom("gradcheck --op nosuch");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.all.find("'nosuch'"), std::string::npos) << r.all;
}

TEST(Cli, GradcheckRefusesNonDifferentiableOpAndBadUsage) {
  LoomRun fill = loom("gradcheck --op fill");
  EXPECT_NE(fill.status, 0);
  EXPECT_NE(fill.all.find("fill"), std::string::npos) << fill.all;
  EXPECT_NE(loom("gradcheck").status, 0);
  EXPECT_NE(loom("gradcheck --all --op tanh").status, 0);
  EXPECT_NE(loom("gradcheck tanh").status, 0);
  LoomRun bad = loom("gradcheck --no-such-option");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.all.find("--no-such-option"), std::string::npos) << bad.all;
  EXPECT_NE(bad.all.find("usage: loom gradcheck"), std::string::npos) << bad.all;
}

TEST(Cli, CommandHelpDocumentsOptionsWithDefaults) {
  LoomRun g = loom("gradcheck --help");
  EXPECT_EQ(g.status, 0);
  for (const char* s : {"--op", "--all", "--max-elements N (=64)"}) EXPECT_NE(g.all.find(s), std::string::npos) << s;
  LoomRun e = loom("explain --help");
  EXPECT_EQ(e.status, 0);
  for (const char* s : {"--model NAME (=mlp)", "--batch B (=16)", "--hidden H (=64)", "--dot FILE", "mlp:"})
    EXPECT_NE(e.all.find(s), std::string::npos) << s << "\n" << e.all;
}

TEST(Cli, ExplainPrintsPlanAndWritesDot) {
  std::string dot_path = ::testing::TempDir() + "loom_test_cli_plan.dot";
  std::remove(dot_path.c_str());
  LoomRun r = loom("explain --batch 4 --hidden 8 --dot '" + dot_path + "'");
  EXPECT_EQ(r.status, 0) << r.all;
  EXPECT_NE(r.all.find("matmul"), std::string::npos) << r.all;
  std::ifstream dot(dot_path);
  std::string text((std::istreambuf_iterator<char>(dot)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("digraph"), std::string::npos) << text;
  std::remove(dot_path.c_str());
}

// The acceptance check: an LSTM graph with its backward shows fused
// steps and a transient arena smaller than the naive sum, and the optimised
// plan agrees with the unoptimised graph.
TEST(Cli, ExplainLstmShowsFusionArenaSavingAndVerifies) {
  LoomRun r = loom("explain --model lstm --batch 8 --length 6 --hidden 16 --verify");
  EXPECT_EQ(r.status, 0) << r.all;
  for (const char* word : {"lstm_sequence_grad", "fused_elementwise", "plans agree"})
    EXPECT_NE(r.all.find(word), std::string::npos) << word << "\n" << r.all;
  size_t at = r.all.find("transient arena ");
  ASSERT_NE(at, std::string::npos) << r.all;
  size_t open = r.all.find("(naive ", at), pct = r.all.find("%)", at);
  ASSERT_NE(pct, std::string::npos);
  std::string percent = r.all.substr(r.all.rfind(' ', pct) + 1, pct - r.all.rfind(' ', pct) - 1);
  EXPECT_LT(std::stoi(percent), 100) << r.all.substr(at, pct - at) << " open=" << open;
}

TEST(Cli, ExplainRefusesUnknownModel) {
  LoomRun r = loom("explain --model nosuch");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.all.find("nosuch"), std::string::npos) << r.all;
  EXPECT_NE(r.all.find("mlp"), std::string::npos) << r.all;
}

}  // namespace
}  // namespace loom
