// Running the PyTorch twins (tests/python/loom_torch.py, Debian's
// /usr/bin/python3 with python3-torch) from the parity tests: whether they
// can run at all (a test skips with the reason when not), and one Python
// process for every job of a test binary, so torch is imported once.
#pragma once
#include <string>

namespace loom::test {

inline constexpr const char* kTwinScript = "tests/python/loom_torch.py";

// "" when /usr/bin/python3 imports torch and the twin script is there; else
// the reason, for GTEST_SKIP.
std::string torch_twin_missing();

// `path` in single quotes, for a shell command line.
std::string quoted(const std::string& path);

struct TwinRun {
  int status = -1;  // the interpreter's exit status
  std::string log;  // everything it printed
};
// `loom_torch.py many --commands FILE`: every job listed in the file, one
// per line, in one interpreter; its output goes to `log_path` and is read back.
TwinRun run_twin_jobs(const std::string& commands_path, const std::string& log_path);

}  // namespace loom::test
