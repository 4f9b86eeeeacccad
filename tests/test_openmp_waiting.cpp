// `loom` restarts itself with OMP_WAIT_POLICY=passive unless the user chose a
// wait policy or spin count: the running process's environment shows which
// one libgomp read. Linux only (/proc).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

// The OMP_WAIT_POLICY line of a running `loom train` started with `env_args`.
std::string wait_policy_seen(const std::string& name, const std::string& env_args) {
  const char* bin = std::getenv("LOOM_BIN");
  if (!bin || !*bin) return "run through ctest";
  std::string out = ::testing::TempDir() + "loom_openmp_waiting_" + name;
  std::filesystem::remove_all(out);
  std::filesystem::create_directories(out);
  std::string script = "env " + env_args + " '" + bin +
                       "' train --train data/toy.tsv --valid data/toy.tsv --embed 8 --hidden 16 --batch 4"
                       " --epochs 100000 --out '" + out + "' 2>/dev/null >/dev/null & p=$!; sleep 1; "
                       "tr '\\0' '\\n' < /proc/$p/environ | grep '^OMP_WAIT_POLICY=' > '" + out + "/seen'; "
                       "kill -INT $p; wait $p; true";
  std::ofstream(out + "/run.sh") << script << "\n";
  if (std::system(("bash '" + out + "/run.sh'").c_str()) != 0) return "script failed";
  std::ifstream seen(out + "/seen");
  std::stringstream s;
  s << seen.rdbuf();
  return s.str();
}

TEST(OpenmpWaiting, LoomSwitchesToPassiveByDefault) {
  EXPECT_EQ(wait_policy_seen("default", "-u OMP_WAIT_POLICY -u GOMP_SPINCOUNT"), "OMP_WAIT_POLICY=passive\n");
}

TEST(OpenmpWaiting, TheUsersChoiceStands) {
  EXPECT_EQ(wait_policy_seen("active", "-u GOMP_SPINCOUNT OMP_WAIT_POLICY=active"), "OMP_WAIT_POLICY=active\n");
  EXPECT_EQ(wait_policy_seen("spin", "-u OMP_WAIT_POLICY GOMP_SPINCOUNT=1000"), "");
}

}  // namespace
