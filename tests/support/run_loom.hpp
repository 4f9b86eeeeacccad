// Running the `loom` command as a user would, for the CLI tests: the binary is
// $LOOM_BIN (CMake sets it for every test), args go through the shell (so
// they may hold quotes and redirections).
#pragma once
#include <string>

namespace loom::test {

struct LoomRun {
  int status = -1;       // exit status; -1 when it could not run or was killed
  std::string out, err;  // standard output and standard error
  std::string all;       // both, stdout first
};

LoomRun run_loom(const std::string& args);

}  // namespace loom::test
