#include "tests/support/torch_twin.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace loom::test {

std::string torch_twin_missing() {
  if (std::filesystem::exists(kTwinScript) && std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0)
    return "";
  return "/usr/bin/python3 cannot import torch, or no " + std::string(kTwinScript);
}

std::string quoted(const std::string& path) { return "'" + path + "'"; }

TwinRun run_twin_jobs(const std::string& commands_path, const std::string& log_path) {
  TwinRun run;
  run.status = std::system(("/usr/bin/python3 " + std::string(kTwinScript) + " many --commands " +
                            quoted(commands_path) + " >" + quoted(log_path) + " 2>&1")
                               .c_str());
  std::ifstream in(log_path);
  run.log.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return run;
}

}  // namespace loom::test
