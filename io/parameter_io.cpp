// Parameter stores to and from safetensors files (docs/CHECKPOINTS.md):
// exactly the store's names and shapes, checked in full before anything is
// written into the store.
#include "io/parameter_io.hpp"

#include <algorithm>
#include <cstring>

namespace loom::io {
std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Reads through read_value: a save is no write, so packed copies of the
// weights (ops/dnnl/packed_gemm.hpp) stay valid across it.
void save_parameters(const std::string& path, const ParameterStore& params,
                     const std::map<std::string, std::string>& metadata) {
  std::vector<NamedTensor> tensors;
  for (const ParameterStore::Entry& e : params.entries()) tensors.push_back({e.name, params.read_value(e.name)});
  save_safetensors(path, tensors, metadata);
}

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw CheckpointError("checkpoint file '" + path + "': " + what);
}

// Every problem between a file and a store, in one message.
void check_parameters_match(const SafetensorsFile& file, const ParameterStore& params, bool allow_extra) {
  std::vector<std::string> missing, extra, mismatched;
  for (const ParameterStore::Entry& e : params.entries()) {
    auto it = file.tensors.find(e.name);
    if (it == file.tensors.end()) missing.push_back(e.name);
    else if (!(it->second.shape() == e.shape))
      mismatched.push_back(e.name + " (file " + it->second.shape().str() + ", model " + e.shape.str() + ")");
    else if (it->second.dtype() == DType::I32)
      mismatched.push_back(e.name + " (file holds integers, parameters are floating point)");
  }
  if (!allow_extra)
    for (const auto& [name, tensor] : file.tensors)
      if (!params.has(name)) extra.push_back(name);
  if (missing.empty() && extra.empty() && mismatched.empty()) return;
  std::string what = "does not match the model's parameters:";
  if (!missing.empty()) what += "\n  missing: " + join_names(missing);
  if (!mismatched.empty()) what += "\n  wrong shape or dtype: " + join_names(mismatched);
  if (!extra.empty()) what += "\n  not in the model (allow_extra to ignore): " + join_names(extra);
  fail(file.path, what);
}

}  // namespace

std::map<std::string, std::string> load_parameters(const std::string& path, ParameterStore& params,
                                                   const LoadParametersOptions& options) {
  SafetensorsFile file = load_safetensors(path);
  check_parameters_match(file, params, options.allow_extra);
  for (const ParameterStore::Entry& e : params.entries()) {
    const Tensor& source = file.tensors.at(e.name);
    TensorRef target = params.value(e.name);
    const Tensor converted = source.dtype() == params.dtype() ? Tensor() : source.to(params.dtype());
    const Tensor& bytes = source.dtype() == params.dtype() ? source : converted;
    std::memcpy(target.data, bytes.raw(), bytes.bytes());
  }
  return std::move(file.metadata);
}

}  // namespace loom::io
