// A model's loom.config checked against the tensor shapes its checkpoint
// declares, before anything of the model's size is allocated. Each size is
// read off one tensor first, so that a contradiction names the key and that
// tensor; then the whole layout the config implies is compared with the file,
// naming any tensor missing, misshapen or extra. Sizes that agree with the
// file's tensors are bounded by the file's own (validated) size, so building
// the model afterwards cannot allocate far more than the file holds. Every
// model's restore uses it (the translator, the language models, a user's).
// Failures are CheckpointError naming the file.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "graph/tensor.hpp"
#include "io/safetensors.hpp"

namespace loom::io {

class ConfigAgainstFile {
 public:
  explicit ConfigAgainstFile(const SafetensorsHeader& header);

  const std::string& path() const { return path_; }
  bool has(const std::string& tensor) const { return shapes_.count(tensor) != 0; }
  // `key`=value must be dimension `axis` of the matrix `tensor`.
  void expect_dim(const std::string& key, int64_t value, const std::string& tensor, int axis) const;
  // `key`=layers must be the number of tensors prefix0, prefix1, ... in the file.
  void expect_count(const std::string& key, int64_t layers, const std::string& prefix) const;
  // Exactly these tensors with these shapes; `config` says what asked for them
  // ("loom.config (vocab=.., hidden=..)").
  void expect_layout(const std::vector<std::pair<std::string, Shape>>& expected, const std::string& config) const;
  // A CheckpointError naming the file.
  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::string path_;
  std::map<std::string, Shape> shapes_;
};

}  // namespace loom::io
