// Safetensors: round trips (bitwise values, metadata, bytes that do not
// depend on tensor order), atomic writes under simulated failures, and
// hostile files (each validation rule, plus a deterministic fuzz loop that
// must never crash).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "io/safetensors.hpp"
#include "tests/support/checkpoint_files.hpp"

using namespace loom;
using namespace loom::io;
using namespace loom::test;
namespace fs = std::filesystem;

// ---- round trips ----

TEST(Safetensors, RoundTripIsBitwiseWithMetadata) {
  TempDir dir;
  Tensor a = f32_tensor({2, 3}, -1.0f);
  a.data<float>()[1] = std::numeric_limits<float>::quiet_NaN();
  a.data<float>()[2] = -0.0f;
  a.data<float>()[3] = -std::numeric_limits<float>::infinity();
  Tensor b = Tensor::from_f64({4}, std::vector<double>{1e-300, -2.5, 3.0, 1.0 / 3.0});
  Tensor c = Tensor::from_i32({2, 2}, std::vector<int32_t>{INT32_MIN, -1, 0, INT32_MAX});
  Tensor scalar = Tensor::scalar(DType::F32, 7.5), empty(DType::F32, Shape{0, 3});
  const std::map<std::string, std::string> meta{{"k", "v"}, {"unicode", "año ✓"}, {"empty", ""}};
  save_safetensors(dir.file("t.safetensors"),
                   {{"a", a.ref()}, {"b", b.ref()}, {"c", c.ref()}, {"scalar", scalar.ref()}, {"empty", empty.ref()}},
                   meta);
  SafetensorsFile f = load_safetensors(dir.file("t.safetensors"));
  EXPECT_EQ(f.metadata, meta);
  ASSERT_EQ(f.tensors.size(), 5u);
  for (const auto& [name, original] : std::map<std::string, const Tensor*>{
           {"a", &a}, {"b", &b}, {"c", &c}, {"scalar", &scalar}, {"empty", &empty}}) {
    const Tensor& back = f.tensor(name);
    EXPECT_EQ(back.type(), original->type()) << name;
    EXPECT_EQ(std::memcmp(back.raw(), original->raw(), original->bytes()), 0) << name;
  }
  EXPECT_EQ(f.tensor("scalar").shape().rank(), 0);
  expect_error([&] { (void)f.tensor("nope"); }, dir.file("t.safetensors"), "no tensor named 'nope'");
}

TEST(Safetensors, BytesDoNotDependOnTensorOrderAndHeaderIsAligned) {
  TempDir dir;
  Tensor x = f32_tensor({3}, 1.0f), y = f32_tensor({2, 2}, 5.0f);
  save_safetensors(dir.file("1"), {{"x", x.ref()}, {"y", y.ref()}}, {{"m", "1"}});
  save_safetensors(dir.file("2"), {{"y", y.ref()}, {"x", x.ref()}}, {{"m", "1"}});
  const std::string one = read_bytes(dir.file("1"));
  EXPECT_EQ(one, read_bytes(dir.file("2")));
  SafetensorsHeader h = read_safetensors_header(dir.file("1"));
  EXPECT_EQ(h.data_start % 8, 0u);
  EXPECT_EQ(one[8], '{');
  ASSERT_EQ(h.entries.size(), 2u);
  EXPECT_EQ(h.entries[0].name, "x");  // data in name order
  EXPECT_EQ(h.entries[1].begin, 12u);
}

TEST(Safetensors, I64IsReadAsI32WhenItFits) {
  TempDir dir;
  std::string data(16, '\0');
  int64_t values[2] = {-5, 1234567};
  std::memcpy(data.data(), values, 16);
  write_bytes(dir.file("ok"), raw_file(R"({"i":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})", data));
  SafetensorsFile f = load_safetensors(dir.file("ok"));
  EXPECT_EQ(f.tensor("i").dtype(), DType::I32);
  EXPECT_EQ(f.tensor("i").data<int32_t>()[0], -5);
  EXPECT_EQ(f.tensor("i").data<int32_t>()[1], 1234567);
  values[1] = int64_t(1) << 40;
  std::memcpy(data.data(), values, 16);
  write_bytes(dir.file("big"), raw_file(R"({"i":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})", data));
  expect_error([&] { load_safetensors(dir.file("big")); }, dir.file("big"), "does not fit in I32");
}

TEST(Safetensors, WriterRejectsBadNamesAndWritesNothing) {
  TempDir dir;
  Tensor x = f32_tensor({2}, 0.0f);
  const std::string p = dir.file("t");
  expect_error([&] { save_safetensors(p, {{"x", x.ref()}, {"x", x.ref()}}); }, p, "two tensors named 'x'");
  expect_error([&] { save_safetensors(p, {{"", x.ref()}}); }, p, "named ''");
  expect_error([&] { save_safetensors(p, {{"__metadata__", x.ref()}}); }, p, "__metadata__");
  expect_error([&] { save_safetensors(p, {{"x", x.ref()}}, {{"bad", std::string("\xff\xfe")}}); }, p, "UTF-8");
  EXPECT_TRUE(dir.listing().empty());
}

// ---- atomic writes ----

TEST(AtomicWrite, FailureAtAnyStageKeepsTheOldFileAndLeavesNoTemp) {
  TempDir dir;
  const std::string p = dir.file("model.safetensors");
  Tensor v1 = f32_tensor({4}, 1.0f), v2 = f32_tensor({8}, 2.0f);
  save_safetensors(p, {{"w", v1.ref()}});
  const std::string old_bytes = read_bytes(p);
  for (const char* stage : {"open", "write", "fsync", "rename"}) {
    set_atomic_write_hook_for_testing([stage](std::string_view s) {
      if (s == stage) throw CheckpointError(std::string("simulated failure at ") + stage);
    });
    EXPECT_THROW(save_safetensors(p, {{"w", v2.ref()}}), CheckpointError) << stage;
    set_atomic_write_hook_for_testing({});
    EXPECT_EQ(read_bytes(p), old_bytes) << stage;
    EXPECT_EQ(dir.listing(), std::vector<std::string>{"model.safetensors"}) << stage;
  }
  save_safetensors(p, {{"w", v2.ref()}});  // no hook: the new file replaces the old
  EXPECT_EQ(load_safetensors(p).tensor("w").numel(), 8);
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"model.safetensors"});
}

TEST(AtomicWrite, RenameOntoADirectoryFailsCleanly) {
  TempDir dir;
  fs::create_directory(dir.file("taken"));
  Tensor x = f32_tensor({2}, 0.0f);
  expect_error([&] { save_safetensors(dir.file("taken"), {{"x", x.ref()}}); }, dir.file("taken"), "cannot rename");
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"taken"});
  const std::string nowhere = dir.file("no/such/dir/m");
  expect_error([&] { save_safetensors(nowhere, {{"x", x.ref()}}); }, nowhere, "cannot create the temporary file");
}

TEST(AtomicWrite, UnwritableDirectoryIsReportedAndOldFileKept) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  TempDir dir;
  const std::string p = dir.file("m");
  Tensor x = f32_tensor({2}, 0.0f);
  save_safetensors(p, {{"x", x.ref()}});
  const std::string old_bytes = read_bytes(p);
  fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
  expect_error([&] { save_safetensors(p, {{"y", x.ref()}}); }, p, "cannot create the temporary file");
  fs::permissions(dir.path, fs::perms::owner_all);
  EXPECT_EQ(read_bytes(p), old_bytes);
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"m"});
}

// ---- hostile files ----

struct HostileCase {
  const char* expected;  // part of the error message
  std::string bytes;
};

std::vector<HostileCase> hostile_cases() {
  const std::string f32 = R"("dtype":"F32","shape":[2],"data_offsets":)";
  const std::string eight(8, '\0');
  auto one = [&](const std::string& entry, const std::string& data) { return raw_file("{\"a\":{" + entry + "}}", data); };
  return {
      {"too short", "abc"},
      {"larger than the rest of the file", raw_file("{}", "", 100)},
      {"absurd", raw_file("{}", "", int64_t(1) << 40)},
      {"not valid JSON", raw_file("{\"a\":", "")},
      {"not valid JSON", raw_file("{\"\xff\":{}}", "")},
      {"not valid JSON", raw_file("", "")},
      {"header is not a JSON object", raw_file("[1,2]")},
      {"is not a JSON object", raw_file(R"({"a":3})")},
      {"lacks the field 'shape'", one(R"("dtype":"F32","data_offsets":[0,8])", eight)},
      {"unexpected field 'foo'", one(f32 + R"([0,8],"foo":1)", eight)},
      {"unknown dtype 'Q7'", one(R"("dtype":"Q7","shape":[2],"data_offsets":[0,8])", eight)},
      {"dtype BF16, which Loom does not read", one(R"("dtype":"BF16","shape":[4],"data_offsets":[0,8])", eight)},
      {"dtype that is not a string", one(R"("dtype":4,"shape":[2],"data_offsets":[0,8])", eight)},
      {"not a non-negative integer", one(R"("dtype":"F32","shape":[-2],"data_offsets":[0,8])", eight)},
      {"not a non-negative integer", one(R"("dtype":"F32","shape":[2.0],"data_offsets":[0,8])", eight)},
      {"shape that is not an array", one(R"("dtype":"F32","shape":2,"data_offsets":[0,8])", eight)},
      {"at most 4 dimensions", one(R"("dtype":"F32","shape":[1,1,1,1,2],"data_offsets":[0,8])", eight)},
      {"impossibly large", one(R"("dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8])", eight)},
      {"not [begin, end]", one(f32 + "[0,8,9]", eight)},
      {"begin after end", one(f32 + "[8,0]", eight)},
      {"outside the data section", one(f32 + "[8,16]", eight)},
      {"needs 8 bytes", one(f32 + "[0,4]", std::string(4, '\0'))},
      {"overlaps", raw_file("{\"a\":{" + f32 + "[0,8]},\"b\":{" + f32 + "[4,12]}}", std::string(12, '\0'))},
      {"a hole before 'b'", raw_file("{\"a\":{" + f32 + "[0,8]},\"b\":{" + f32 + "[12,20]}}", std::string(20, '\0'))},
      {"last 4 bytes of the data section belong to no tensor", one(f32 + "[0,8]", std::string(12, '\0'))},
      {"names the tensor 'a' twice", raw_file("{\"a\":{" + f32 + "[0,8]},\"a\":{" + f32 + "[0,8]}}", eight)},
      {"has the field 'dtype' twice", one(f32 + R"([0,8],"dtype":"F32")", eight)},
      {"metadata key 'k' has a value that is not a string", raw_file(R"({"__metadata__":{"k":1}})")},
      {"__metadata__ is not a JSON object", raw_file(R"({"__metadata__":"x"})")},
      {"nests deeper", raw_file("{\"a\":" + std::string(200000, '[') + std::string(200000, ']') + "}")},
      {"value that is not a string: an object", raw_file(R"({"__metadata__":{"k":{"x":1}}})")},
  };
}

TEST(HostileFiles, EveryValidationRuleNamesTheFileAndTheProblem) {
  TempDir dir;
  int index = 0;
  for (const HostileCase& c : hostile_cases()) {
    const std::string p = dir.file("case" + std::to_string(index++));
    write_bytes(p, c.bytes);
    SCOPED_TRACE(c.expected);
    expect_error([&] { load_safetensors(p); }, p, c.expected);
  }
  expect_error([&] { load_safetensors(dir.file("missing")); }, dir.file("missing"), "does not exist");
  expect_error([&] { load_safetensors(dir.path.string()); }, dir.path.string(), "not a regular file");
}

TEST(HostileFiles, RandomCorruptionLoadsOrThrowsButNeverCrashes) {
  TempDir dir;
  const std::string good = dir.file("good"), bad = dir.file("bad");
  Tensor w = f32_tensor({3, 4}, 0.5f), b = f32_tensor({3}, 1.0f);
  Tensor i = Tensor::from_i32({2}, std::vector<int32_t>{1, 2});
  save_safetensors(good, {{"w", w.ref()}, {"b", b.ref()}, {"i", i.ref()}}, {{"loom.config", "{\"x\":1}"}});
  const std::string original = read_bytes(good);
  std::mt19937 rng(12345);
  int loaded = 0, rejected = 0;
  for (int trial = 0; trial < 600; ++trial) {
    std::string bytes = original;
    const int mode = trial % 4;
    if (mode == 0) bytes.resize(rng() % bytes.size());
    else if (mode == 1) bytes[rng() % 8] = char(rng());  // the length prefix
    else
      for (int k = 0, n = 1 + int(rng() % 3); k < n; ++k) bytes[rng() % bytes.size()] = char(rng());
    write_bytes(bad, bytes);
    try {
      SafetensorsFile f = load_safetensors(bad);
      ++loaded;  // a flip inside the data section keeps the file valid
    } catch (const CheckpointError& e) {
      ++rejected;
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(loaded, 0);
  EXPECT_GT(rejected, 0);
}
