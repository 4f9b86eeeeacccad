#include "tests/support/run_loom.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace loom::test {

LoomRun run_loom(const std::string& args) {
  LoomRun r;
  const char* bin = std::getenv("LOOM_BIN");
  if (!bin || !*bin) {
    ADD_FAILURE() << "LOOM_BIN is not set; run this test through ctest";
    return r;
  }
  std::string err_path = ::testing::TempDir() + "loom_stderr_XXXXXX";
  int fd = mkstemp(err_path.data());
  if (fd < 0) {
    ADD_FAILURE() << "cannot create " << err_path;
    return r;
  }
  close(fd);
  std::string command = "'" + std::string(bin) + "' " + args + " 2>'" + err_path + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) {
    ADD_FAILURE() << "cannot run " << command;
    return r;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  int raw = pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream err(err_path);
  std::stringstream text;
  text << err.rdbuf();
  r.err = text.str();
  std::remove(err_path.c_str());
  r.all = r.out + r.err;
  return r;
}

}  // namespace loom::test
