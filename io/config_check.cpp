#include "io/config_check.hpp"

#include <set>
#include <span>

namespace loom::io {

namespace {

std::string says(const std::string& key, int64_t value) {
  return "loom.config says " + key + "=" + std::to_string(value) + " but ";
}

}  // namespace

ConfigAgainstFile::ConfigAgainstFile(const SafetensorsHeader& header) : path_(header.path) {
  for (const SafetensorsEntry& e : header.entries) shapes_.emplace(e.name, Shape(std::span(e.shape)));
}

void ConfigAgainstFile::fail(const std::string& what) const {
  throw CheckpointError("checkpoint file '" + path_ + "': " + what);
}

void ConfigAgainstFile::expect_dim(const std::string& key, int64_t value, const std::string& tensor, int axis) const {
  auto it = shapes_.find(tensor);
  if (it == shapes_.end()) fail(says(key, value) + "the file has no tensor " + tensor);
  if (it->second.rank() != 2) fail(tensor + " is " + it->second.str() + "; a matrix was expected");
  if (it->second[axis] != value) fail(says(key, value) + tensor + " is " + it->second.str());
}

void ConfigAgainstFile::expect_count(const std::string& key, int64_t layers, const std::string& prefix) const {
  int64_t found = 0;
  while (has(prefix + std::to_string(found))) ++found;
  if (layers > found) fail(says(key, layers) + "the file has no tensor " + prefix + std::to_string(found));
  if (layers >= 1 && layers < found) fail(says(key, layers) + "the file also holds " + prefix + std::to_string(layers));
}

void ConfigAgainstFile::expect_layout(const std::vector<std::pair<std::string, Shape>>& expected,
                                      const std::string& config) const {
  std::set<std::string> wanted;
  for (const auto& [name, shape] : expected) {
    wanted.insert(name);
    auto it = shapes_.find(name);
    if (it == shapes_.end()) fail(config + " needs " + name + " " + shape.str() + ", which the file lacks");
    if (!(it->second == shape))
      fail(config + " needs " + name + " " + shape.str() + " but the file's is " + it->second.str());
  }
  for (const auto& [name, shape] : shapes_)
    if (!wanted.count(name)) fail(config + " has no parameter " + name + " " + shape.str() + ", which the file holds");
}

}  // namespace loom::io
