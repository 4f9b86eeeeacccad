// The safetensors format (docs/CHECKPOINTS.md): an 8-byte little-endian
// header length N, N bytes of JSON naming every tensor's dtype, shape and
// [begin, end) byte range, then the raw little-endian data. Files are written
// atomically (temp file, fsync, rename, fsync of the directory), and read with
// every field validated: a hostile or truncated file gives a CheckpointError
// naming the file and the problem, never a crash.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "graph/tensor.hpp"

namespace loom::io {

// A checkpoint file cannot be written, read or matched to a model; the message
// names the file and what is wrong.
struct CheckpointError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A tensor to write: a name and a view of memory the caller owns (f32, f64 or i32).
struct NamedTensor {
  std::string name;
  ConstTensorRef tensor;  // only read
};

// One header entry, validated. dtype is the file's ("F32", "F64", "I32", "I64").
struct SafetensorsEntry {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range inside the data section
};

struct SafetensorsHeader {
  std::string path;
  std::vector<SafetensorsEntry> entries;  // sorted by begin offset
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // file offset of the data section (8 + N)
  uint64_t data_bytes = 0;
};

struct SafetensorsFile {
  std::string path;
  std::map<std::string, Tensor> tensors;  // I64 is converted to I32 (range-checked)
  std::map<std::string, std::string> metadata;

  bool has(std::string_view name) const { return tensors.find(std::string(name)) != tensors.end(); }
  // Throws CheckpointError naming the file and the missing tensor.
  const Tensor& tensor(std::string_view name) const;
};

// Writes tensors sorted by name (the same bytes whatever the vector's order),
// the header padded with spaces to a multiple of 8 bytes. Names must be unique,
// non-empty and not "__metadata__". Atomic: on any failure the previous file at
// `path` is intact and no temporary file is left.
void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads and validates the header only (the file size is checked against it).
SafetensorsHeader read_safetensors_header(const std::string& path);
// Reads and validates the whole file.
SafetensorsFile load_safetensors(const std::string& path);

// rename(from, to) followed by an fsync of to's directory, so the rename
// survives a crash; throws CheckpointError naming `to`.
void rename_durably(const std::string& from, const std::string& to);

// Test hook: called at each stage of an atomic write ("open", "write",
// "fsync", "rename") and before rename_durably ("commit"); a hook that throws simulates a failure there. Pass an
// empty function to remove it.
void set_atomic_write_hook_for_testing(std::function<void(std::string_view stage)> hook);

}  // namespace loom::io
