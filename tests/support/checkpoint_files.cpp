#include "tests/support/checkpoint_files.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace loom::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  static int counter = 0;
  path = fs::temp_directory_path() / ("loom_ckpt_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  fs::create_directories(path);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(path, ec);
}

std::vector<std::string> TempDir::listing() const {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(path)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string raw_file(const std::string& header, const std::string& data, int64_t length) {
  uint64_t n = length < 0 ? header.size() : uint64_t(length);
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
  return out + header + data;
}

Tensor f32_tensor(Shape shape, float start) {
  Tensor t(DType::F32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + 0.25f * float(i);
  return t;
}

}  // namespace loom::test
