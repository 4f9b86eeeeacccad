// Parameter stores in safetensors files: exactly the store's names and
// shapes, no padding, nothing else.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "graph/parameters.hpp"
#include "io/safetensors.hpp"

namespace loom::io {

// Writes exactly the store's parameters: their names and shapes, no padding.
void save_parameters(const std::string& path, const ParameterStore& params,
                     const std::map<std::string, std::string>& metadata = {});

struct LoadParametersOptions {
  bool allow_extra = false;  // tensors in the file that the store lacks are ignored
};

// Fills every store parameter from the file (f32/f64 converted to the store's
// dtype). Checks everything before writing anything: one CheckpointError lists
// every missing, extra and mis-shaped name. Returns the file's metadata.
std::map<std::string, std::string> load_parameters(const std::string& path, ParameterStore& params,
                                                   const LoadParametersOptions& options = {});

// "a, b, c": names in an error message.
std::string join_names(const std::vector<std::string>& names);

}  // namespace loom::io
