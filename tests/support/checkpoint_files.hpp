// Files for the checkpoint tests: a scratch directory per test, raw bytes in
// and out, hand-made safetensors files, and the check that an error names the
// file and the problem.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "io/safetensors.hpp"

namespace loom::test {

// A fresh directory per test, removed afterwards.
struct TempDir {
  std::filesystem::path path;
  TempDir();
  ~TempDir();
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::vector<std::string> listing() const;  // file names, sorted
};

std::string read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::string& bytes);

// A safetensors file from a literal header and data bytes; length overrides
// the header length field.
std::string raw_file(const std::string& header, const std::string& data = "", int64_t length = -1);

// f32 values start, start + 0.25, start + 0.5, ...
Tensor f32_tensor(Shape shape, float start);

// Runs f, expects a CheckpointError whose message names the file and `what`.
template <class F>
void expect_error(F&& f, const std::string& path, const std::string& what) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning: " << what;
  } catch (const io::CheckpointError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << "expected '" << what << "' in: " << msg;
  }
}

}  // namespace loom::test
