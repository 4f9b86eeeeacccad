// Safetensors reading and writing (docs/CHECKPOINTS.md). The reader trusts nothing:
// sizes are checked before any allocation, offsets before any read, and every
// failure is a CheckpointError that starts with the file's path. The writer
// goes through write_atomically, so a failed save never damages the previous
// file. Data are little-endian on disk; so is every host Loom builds for.
#include "io/safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <span>

#include "text/tokenizer.hpp"

namespace loom::io {

static_assert(std::endian::native == std::endian::little, "safetensors data are little-endian");

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
constexpr const char* kMetadataKey = "__metadata__";
constexpr int kMaxHeaderDepth = 4;   // {"name": {"shape": [..]}} is depth 3

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw CheckpointError("checkpoint file '" + path + "': " + what);
}

std::string errno_text() { return std::strerror(errno); }

std::string shape_text(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

// A JSON value for an error message: scalars as they are (cut short), containers
// by kind only (dumping a hostile, deeply nested value would recurse).
std::string brief(const nlohmann::json& v) {
  if (v.is_array()) return "an array of " + std::to_string(v.size()) + " elements";
  if (v.is_object()) return "an object";
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// ---- dtypes ----

struct FileDType {
  const char* name;
  size_t size;
};
constexpr FileDType kFileDTypes[] = {{"F32", 4}, {"F64", 8}, {"I32", 4}, {"I64", 8}};
constexpr const char* kUnsupportedDTypes[] = {"F16", "BF16", "I8",  "U8",      "I16",     "U16",
                                              "U32", "U64",  "BOOL", "F8_E4M3", "F8_E5M2"};

const FileDType* find_file_dtype(std::string_view name) {
  for (const FileDType& d : kFileDTypes)
    if (name == d.name) return &d;
  return nullptr;
}

const char* file_dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I32: return "I32";
  }
  return "?";
}

DType loom_dtype(std::string_view file_dtype) {
  if (file_dtype == "F64") return DType::F64;
  if (file_dtype == "F32") return DType::F32;
  return DType::I32;  // I32, and I64 after conversion
}

// ---- atomic writes ----

std::function<void(std::string_view)>& write_hook() {
  static std::function<void(std::string_view)> hook;
  return hook;
}

void at_stage(std::string_view stage) {
  if (write_hook()) write_hook()(stage);
}

// Owns the temporary file: closes it, and removes it unless committed.
class TempFile {
 public:
  TempFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  void close_or_throw(const std::string& target) {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail(target, "closing the temporary file '" + path_ + "' failed: " + errno_text());
  }
  void commit() { committed_ = true; }

 private:
  std::string path_;
  int fd_;
  bool committed_ = false;
};

void write_all(int fd, std::span<const std::byte> bytes, const std::string& target) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(target, "writing failed: " + (n < 0 ? errno_text() : std::string("no progress")));
    bytes = bytes.subspan(size_t(n));
  }
}

void sync_directory(const std::string& dir, const std::string& target) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(target, "written, but its directory '" + dir + "' cannot be opened to sync: " + errno_text());
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  // Some file systems cannot sync directories (EINVAL); the rename is then as
  // durable as they allow.
  if (rc != 0 && err != EINVAL)
    fail(target, "written, but syncing its directory '" + dir + "' failed: " + std::strerror(err));
}

// Temp file in the target's directory, write, fsync, rename over the target,
// fsync the directory. Any failure before the rename leaves the target as it was.
void write_atomically(const std::string& path, const std::vector<std::span<const std::byte>>& pieces) {
  static std::atomic<uint64_t> counter{0};
  const fs::path parent = fs::path(path).parent_path();
  const std::string dir = parent.empty() ? "." : parent.string();
  const std::string tmp_path = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  at_stage("open");
  int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) fail(path, "cannot create the temporary file '" + tmp_path + "': " + errno_text());
  TempFile tmp(tmp_path, fd);
  at_stage("write");
  for (std::span<const std::byte> piece : pieces) write_all(tmp.fd(), piece, path);
  at_stage("fsync");
  if (::fsync(tmp.fd()) != 0) fail(path, "fsync of the temporary file failed: " + errno_text());
  tmp.close_or_throw(path);
  at_stage("rename");
  if (::rename(tmp_path.c_str(), path.c_str()) != 0)
    fail(path, "cannot rename the temporary file '" + tmp_path + "' over it: " + errno_text());
  tmp.commit();
  sync_directory(dir, path);
}

}  // namespace

void rename_durably(const std::string& from, const std::string& to) {
  const fs::path parent = fs::path(to).parent_path();
  at_stage("commit");
  if (::rename(from.c_str(), to.c_str()) != 0) fail(to, "cannot rename '" + from + "' over it: " + errno_text());
  sync_directory(parent.empty() ? "." : parent.string(), to);
}

namespace {

// ---- header parsing ----

// Parses JSON, noting the first key that repeats inside one object (nlohmann
// would silently keep the last).
json parse_header_json(const std::string& text, const std::string& path) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  size_t duplicate_depth = 0;
  int deepest = 0;
  auto track = [&](int depth, json::parse_event_t event, json& parsed) {
    deepest = std::max(deepest, depth);
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == json::parse_event_t::key && !open_objects.empty() && duplicate.empty() &&
        !open_objects.back().insert(parsed.get<std::string>()).second) {
      duplicate = parsed.get<std::string>();
      duplicate_depth = open_objects.size();
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, track);
  } catch (const json::exception& e) {
    fail(path, std::string("the header is not valid JSON: ") + e.what());
  }
  if (deepest > kMaxHeaderDepth) fail(path, "the header nests deeper than any safetensors header");
  if (!duplicate.empty())
    fail(path, duplicate_depth == 1 ? "the header names the tensor '" + duplicate + "' twice"
                                    : "a header entry has the field '" + duplicate + "' twice");
  if (!header.is_object()) fail(path, "the header is not a JSON object");
  return header;
}

uint64_t unsigned_field(const json& v, const std::string& path, const std::string& what) {
  if (!v.is_number_unsigned()) fail(path, what + " is " + brief(v) + ", not a non-negative integer");
  return v.get<uint64_t>();
}

void check_entry_fields(const std::string& name, const json& v, const std::string& path) {
  if (!v.is_object()) fail(path, "the entry of tensor '" + name + "' is not a JSON object");
  for (const auto& [key, value] : v.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      fail(path, "tensor '" + name + "' has an unexpected field '" + key + "'");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!v.contains(key)) fail(path, "tensor '" + name + "' lacks the field '" + key + "'");
}

const FileDType& entry_dtype(const std::string& name, const json& v, const std::string& path) {
  if (!v.is_string()) fail(path, "tensor '" + name + "' has a dtype that is not a string: " + brief(v));
  const std::string d = v.get<std::string>();
  if (const FileDType* known = find_file_dtype(d)) return *known;
  for (const char* unsupported : kUnsupportedDTypes)
    if (d == unsupported)
      fail(path, "tensor '" + name + "' has dtype " + d + ", which Loom does not read (F32, F64, I32, I64)");
  fail(path, "tensor '" + name + "' has the unknown dtype '" + d + "'");
}

// Validates one tensor entry against the size of the data section.
SafetensorsEntry parse_entry(const std::string& name, const json& v, uint64_t data_bytes, const std::string& path) {
  check_entry_fields(name, v, path);
  SafetensorsEntry e{name, entry_dtype(name, v["dtype"], path).name, {}, 0, 0};
  const size_t elem = find_file_dtype(e.dtype)->size;
  const json& shape = v["shape"];
  if (!shape.is_array()) fail(path, "tensor '" + name + "' has a shape that is not an array: " + brief(shape));
  if (shape.size() > size_t(kMaxRank))
    fail(path, "tensor '" + name + "' has rank " + std::to_string(shape.size()) + "; Loom tensors have at most " +
                   std::to_string(kMaxRank) + " dimensions");
  uint64_t bytes = elem;
  for (const json& d : shape) {
    uint64_t dim = unsigned_field(d, path, "a dimension of tensor '" + name + "'");
    if (dim > uint64_t(INT64_MAX) || __builtin_mul_overflow(bytes, dim, &bytes))
      fail(path, "tensor '" + name + "' has an impossibly large shape (dimension " + std::to_string(e.shape.size()) +
                     " is " + brief(d) + ")");
    e.shape.push_back(int64_t(dim));
  }
  const json& offsets = v["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    fail(path, "tensor '" + name + "' has data_offsets " + brief(offsets) + ", not [begin, end]");
  e.begin = unsigned_field(offsets[0], path, "data_offsets[0] of tensor '" + name + "'");
  e.end = unsigned_field(offsets[1], path, "data_offsets[1] of tensor '" + name + "'");
  const std::string range = "[" + std::to_string(e.begin) + "," + std::to_string(e.end) + "]";
  if (e.begin > e.end) fail(path, "tensor '" + name + "' has data_offsets " + range + " with begin after end");
  if (e.end > data_bytes)
    fail(path, "tensor '" + name + "' has data_offsets " + range + " outside the data section of " +
                   std::to_string(data_bytes) + " bytes");
  if (e.end - e.begin != bytes)
    fail(path, "tensor '" + name + "' of dtype " + e.dtype + " and shape " + shape_text(e.shape) + " needs " +
                   std::to_string(bytes) + " bytes, but its data_offsets " + range + " hold " +
                   std::to_string(e.end - e.begin));
  return e;
}

std::map<std::string, std::string> parse_metadata(const json& v, const std::string& path) {
  if (!v.is_object()) fail(path, "__metadata__ is not a JSON object");
  std::map<std::string, std::string> metadata;
  for (const auto& [key, value] : v.items()) {
    if (!value.is_string()) fail(path, "metadata key '" + key + "' has a value that is not a string: " + brief(value));
    metadata[key] = value.get<std::string>();
  }
  return metadata;
}

// Safetensors requires the data regions, in offset order, to tile the data
// section exactly: no overlap, no hole, nothing after the last one.
void check_coverage(const std::vector<SafetensorsEntry>& sorted, uint64_t data_bytes, const std::string& path) {
  uint64_t expected = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const SafetensorsEntry& e : sorted) {
    if (e.begin < expected)
      fail(path, "tensor '" + e.name + "' (bytes " + std::to_string(e.begin) + "-" + std::to_string(e.end) +
                     ") overlaps tensor '" + previous->name + "'");
    if (e.begin > expected)
      fail(path, "bytes " + std::to_string(expected) + "-" + std::to_string(e.begin) +
                     " of the data section belong to no tensor (a hole before '" + e.name + "')");
    expected = e.end;
    previous = &e;
  }
  if (expected != data_bytes)
    fail(path, "the last " + std::to_string(data_bytes - expected) + " bytes of the data section belong to no tensor");
}

uint64_t read_u64_le(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

// ---- public safetensors API ----

const Tensor& SafetensorsFile::tensor(std::string_view name) const {
  auto it = tensors.find(std::string(name));
  if (it == tensors.end()) fail(path, "has no tensor named '" + std::string(name) + "'");
  return it->second;
}

void set_atomic_write_hook_for_testing(std::function<void(std::string_view stage)> hook) {
  write_hook() = std::move(hook);
}

void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<const NamedTensor*> sorted;
  for (const NamedTensor& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });
  json header = json::object();
  std::vector<std::span<const std::byte>> pieces(1);  // the first piece is the header, filled below
  uint64_t offset = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const NamedTensor& t = *sorted[i];
    if (t.name.empty() || t.name == kMetadataKey) fail(path, "cannot save a tensor named '" + t.name + "'");
    if (i > 0 && sorted[i - 1]->name == t.name) fail(path, "cannot save two tensors named '" + t.name + "'");
    const size_t bytes = t.tensor.type.bytes();
    if (bytes > 0 && t.tensor.data == nullptr) fail(path, "tensor '" + t.name + "' has no data");
    std::vector<int64_t> dims(t.tensor.shape().dims().begin(), t.tensor.shape().dims().end());
    header[t.name] = {{"dtype", file_dtype_name(t.tensor.dtype())}, {"shape", dims},
                      {"data_offsets", {offset, offset + bytes}}};
    pieces.emplace_back(static_cast<const std::byte*>(t.tensor.data), bytes);
    offset += bytes;
  }
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {
    fail(path, std::string("a tensor name or metadata string is not valid UTF-8: ") + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string prefix(8, '\0');
  for (int i = 0; i < 8; ++i) prefix[size_t(i)] = char((uint64_t(text.size()) >> (8 * i)) & 0xff);
  text.insert(0, prefix);
  pieces[0] = std::as_bytes(std::span<const char>(text));
  write_atomically(path, pieces);
}

SafetensorsHeader read_safetensors_header(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail(path, fs::exists(path, ec) ? "is not a regular file" : "does not exist");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot be opened for reading: " + errno_text());
  const uint64_t size = fs::file_size(path, ec);
  if (ec) fail(path, "cannot read its size: " + ec.message());
  if (size < 8) fail(path, "is " + std::to_string(size) + " bytes, too short for the 8-byte header length");
  unsigned char length_bytes[8];
  in.read(reinterpret_cast<char*>(length_bytes), 8);
  const uint64_t n = read_u64_le(length_bytes);
  if (!in) fail(path, "cannot read the header length");
  if (n > kMaxHeaderBytes)
    fail(path, "header length " + std::to_string(n) + " is absurd (more than " + std::to_string(kMaxHeaderBytes) +
                   " bytes); this is not a safetensors file");
  if (n > size - 8)
    fail(path, "header length " + std::to_string(n) + " is larger than the rest of the file (" +
                   std::to_string(size - 8) + " bytes): the file is truncated or not safetensors");
  std::string text(n, '\0');
  in.read(text.data(), std::streamsize(n));
  if (!in) fail(path, "cannot read the " + std::to_string(n) + "-byte header");
  SafetensorsHeader h{path, {}, {}, 8 + n, size - 8 - n};
  const json header = parse_header_json(text, path);
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) h.metadata = parse_metadata(value, path);
    else h.entries.push_back(parse_entry(key, value, h.data_bytes, path));
  }
  std::sort(h.entries.begin(), h.entries.end(),
            [](const auto& a, const auto& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  check_coverage(h.entries, h.data_bytes, path);
  return h;
}

namespace {

// Reads one validated entry; I64 becomes I32 when every value fits.
Tensor read_entry(std::ifstream& in, const SafetensorsHeader& h, const SafetensorsEntry& e) {
  in.seekg(std::streamoff(h.data_start + e.begin));
  const Shape shape{std::span<const int64_t>(e.shape)};
  if (e.dtype != "I64") {
    Tensor t(loom_dtype(e.dtype), shape);
    in.read(static_cast<char*>(t.raw()), std::streamsize(t.bytes()));
    if (!in) fail(h.path, "cannot read the data of tensor '" + e.name + "' (was the file truncated?)");
    return t;
  }
  std::vector<int64_t> wide(size_t(shape.numel()));
  in.read(reinterpret_cast<char*>(wide.data()), std::streamsize(wide.size() * sizeof(int64_t)));
  if (!in) fail(h.path, "cannot read the data of tensor '" + e.name + "' (was the file truncated?)");
  Tensor t(DType::I32, shape);
  for (size_t i = 0; i < wide.size(); ++i) {
    if (wide[i] < INT32_MIN || wide[i] > INT32_MAX)
      fail(h.path, "I64 tensor '" + e.name + "' holds " + std::to_string(wide[i]) + ", which does not fit in I32");
    t.data<int32_t>()[i] = int32_t(wide[i]);
  }
  return t;
}

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
  SafetensorsHeader h = read_safetensors_header(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot be opened for reading: " + errno_text());
  SafetensorsFile file{path, {}, std::move(h.metadata)};
  for (const SafetensorsEntry& e : h.entries) file.tensors.emplace(e.name, read_entry(in, h, e));
  return file;
}

}  // namespace loom::io
