// Shared by the fuzz harnesses: the readers under test take file paths, so
// each input is written to one scratch file per process and harness.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace loom::fuzz {

inline std::string write_input(const char* harness, const uint8_t* data, size_t size) {
  static const std::string path = (std::filesystem::temp_directory_path() /
                                    ("loom_fuzz_" + std::string(harness) + "_" + std::to_string(::getpid())))
                                       .string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();  // the machine, not the input: stop loudly
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace loom::fuzz
