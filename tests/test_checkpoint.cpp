// Checkpoints: safetensors round trips (bitwise values, metadata, bytes that
// do not depend on tensor order), atomic writes under simulated failures,
// hostile files (each validation rule, plus a deterministic fuzz loop that must
// never crash), parameter-store loading errors, model metadata, the
// training-state sidecar, and interchange with PyTorch through
// tests/python/loom_torch.py when /usr/bin/python3 can import torch.
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

#include "io/checkpoint.hpp"
#include "io/training_state.hpp"

using namespace loom;
using namespace loom::models;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("loom_ckpt_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

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

// A safetensors file from a literal header and data bytes.
std::string raw_file(const std::string& header, const std::string& data = "", int64_t length = -1) {
  uint64_t n = length < 0 ? header.size() : uint64_t(length);
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
  return out + header + data;
}

// Runs f, expects a CheckpointError whose message names the file and `what`.
template <class F>
void expect_error(F&& f, const std::string& path, const std::string& what) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning: " << what;
  } catch (const CheckpointError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << "expected '" << what << "' in: " << msg;
  }
}

Tensor f32_tensor(Shape shape, float start) {
  Tensor t(DType::F32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + 0.25f * float(i);
  return t;
}

}  // namespace

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

// ---- parameter stores ----

namespace {

ParameterStore small_store(DType dtype = DType::F32) {
  ParameterStore p(dtype);
  p.declare("enc.w", {3, 5});
  p.declare("enc.b", {3});
  p.declare("out.weight", {2, 3});
  std::mt19937_64 rng(9);
  p.fill_uniform(rng, 1.0);
  return p;
}

bool same_values(ParameterStore& a, ParameterStore& b) {
  for (const auto& e : a.entries())
    if (std::memcmp(a.value(e.name).data, b.value(e.name).data, a.value(e.name).type.bytes()) != 0) return false;
  return true;
}

}  // namespace

TEST(Parameters, SaveWritesExactlyTheEntriesAndLoadRestoresThem) {
  TempDir dir;
  ParameterStore saved = small_store();
  save_parameters(dir.file("p"), saved, {{"note", "x"}});
  SafetensorsHeader h = read_safetensors_header(dir.file("p"));
  ASSERT_EQ(h.entries.size(), 3u);
  EXPECT_EQ(h.data_bytes, uint64_t(15 + 3 + 6) * 4);  // no alignment padding in the file
  ParameterStore loaded(DType::F32);
  for (const auto& e : saved.entries()) loaded.declare(e.name, e.shape);
  EXPECT_EQ(load_parameters(dir.file("p"), loaded).at("note"), "x");
  EXPECT_TRUE(same_values(saved, loaded));
}

TEST(Parameters, F64FileLoadsIntoF32Store) {
  TempDir dir;
  ParameterStore wide = small_store(DType::F64);
  save_parameters(dir.file("p"), wide);
  ParameterStore narrow(DType::F32);
  for (const auto& e : wide.entries()) narrow.declare(e.name, e.shape);
  load_parameters(dir.file("p"), narrow);
  EXPECT_EQ(narrow.value("enc.b").ptr<float>()[2], float(wide.value("enc.b").ptr<double>()[2]));
}

TEST(Parameters, LoadErrorsNameMissingExtraAndMisShapedParameters) {
  TempDir dir;
  const std::string p = dir.file("p");
  ParameterStore saved = small_store();
  save_parameters(p, saved);
  ParameterStore other(DType::F32);
  other.declare("enc.w", {5, 3});    // mis-shaped
  other.declare("out.weight", {2, 3});
  other.declare("dec.w", {4});       // missing from the file; enc.b is extra
  try {
    load_parameters(p, other);
    FAIL() << "no error";
  } catch (const CheckpointError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(p), std::string::npos);
    EXPECT_NE(msg.find("missing: dec.w"), std::string::npos) << msg;
    EXPECT_NE(msg.find("enc.w (file [3,5], model [5,3])"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not in the model (allow_extra to ignore): enc.b"), std::string::npos) << msg;
  }
  EXPECT_EQ(other.value("out.weight").ptr<float>()[0], 0.0f);  // nothing written on error
  ParameterStore subset(DType::F32);
  subset.declare("out.weight", {2, 3});
  expect_error([&] { load_parameters(p, subset); }, p, "enc.b, enc.w");
  load_parameters(p, subset, {.allow_extra = true});
  EXPECT_EQ(subset.value("out.weight").ptr<float>()[4], saved.value("out.weight").ptr<float>()[4]);
}

// ---- model checkpoints ----

TEST(ModelCheckpoint, MetadataRoundTripsAndVocabulariesRebuild) {
  TempDir dir;
  const std::string p = dir.file("m");
  ParameterStore params = small_store();
  text::Vocabulary src = text::Vocabulary::build({{"let's", "go"}, {"to", "go"}});
  CheckpointInfo info;
  info.config_json = config_to_json({{"hidden", "16"}, {"attention", "dot"}});
  info.source_vocab = vocabulary_tokens(src);
  info.target_vocab = {"<pad>", "<unk>", "<bos>", "<eos>", "vamos", "ir", "año"};
  info.extra_metadata = {{"loom.note", "hello"}};
  save_checkpoint(p, params, info);
  CheckpointInfo back = read_checkpoint_info(p);
  EXPECT_EQ(config_from_json(back.config_json).at("hidden"), "16");
  EXPECT_EQ(back.source_vocab, info.source_vocab);
  EXPECT_EQ(back.target_vocab, info.target_vocab);
  EXPECT_EQ(back.extra_metadata, info.extra_metadata);
  text::Vocabulary rebuilt = vocabulary_from_tokens(back.source_vocab);
  EXPECT_EQ(rebuilt.size(), src.size());
  EXPECT_EQ(rebuilt.id("go"), src.id("go"));
  EXPECT_EQ(vocabulary_from_tokens(back.target_vocab).id("año"), 6);
  ParameterStore loaded(DType::F32);
  for (const auto& e : params.entries()) loaded.declare(e.name, e.shape);
  load_checkpoint(p, loaded);
  EXPECT_TRUE(same_values(params, loaded));
}

TEST(ModelCheckpoint, ErrorsNameTheProblem) {
  TempDir dir;
  ParameterStore params = small_store();
  save_parameters(dir.file("plain"), params);
  expect_error([&] { read_checkpoint_info(dir.file("plain")); }, dir.file("plain"), "no loom.format_version");
  CheckpointInfo info;
  info.config_json = "[1]";
  expect_error([&] { save_checkpoint(dir.file("m"), params, info); }, dir.file("m"), "not a JSON object");
  save_parameters(dir.file("v2"), params, {{"loom.format_version", "2"}});
  expect_error([&] { read_checkpoint_info(dir.file("v2")); }, dir.file("v2"), "format version '2'");
  save_parameters(dir.file("badvocab"), params,
                  {{"loom.format_version", "1"}, {"loom.config", "{}"}, {"loom.source_vocab", "[1]"},
                   {"loom.target_vocab", "[]"}});
  expect_error([&] { read_checkpoint_info(dir.file("badvocab")); }, dir.file("badvocab"), "non-string token 1");
  save_parameters(dir.file("deep"), params,
                  {{"loom.format_version", "1"}, {"loom.config", std::string(100000, '[') + std::string(100000, ']')}});
  expect_error([&] { read_checkpoint_info(dir.file("deep")); }, dir.file("deep"), "nests deeper than 64");
  EXPECT_THROW(vocabulary_from_tokens({"<pad>", "<unk>", "<bos>", "<eos>", "a", "a"}), CheckpointError);
  EXPECT_THROW(vocabulary_from_tokens({"<unk>", "<pad>", "<bos>", "<eos>"}), CheckpointError);
}

// ---- training state ----

namespace {

void set_grads(ParameterStore& p, double t) {
  for (const auto& e : p.entries()) {
    TensorRef g = p.grad(e.name);
    for (int64_t i = 0; i < g.numel(); ++i) g.ptr<float>()[i] = float(std::sin(0.7 * double(i) + t));
  }
}

}  // namespace

TEST(TrainingStateSidecar, RoundTripResumesBitwise) {
  TempDir dir;
  const std::string p = dir.file("m");
  ParameterStore params = small_store();
  auto adam = optim::make_optimizer({}, params);
  for (int s = 0; s < 3; ++s) {
    set_grads(params, s);
    adam->step(params, 0.01);
  }
  optim::LrSchedule schedule({.kind = "plateau", .plateau_patience = 2});
  for (double loss : {2.0, 3.0, 3.0, 4.0}) schedule.observe_validation(loss);  // halved once, then 1 bad epoch
  TrainingState state;
  capture_optimizer_state(state, *adam, params);
  capture_schedule_state(state, schedule);
  std::mt19937_64 rng(77);
  rng.discard(5);
  std::ostringstream rng_text;
  rng_text << rng;
  state.rng_state = rng_text.str();
  state.global_step = 3, state.epoch = 1, state.batch_index = 17, state.best_validation_loss = 2.0 / 3.0;
  state.extra = {{"data", "train.tsv"}};
  save_checkpoint(p, params, {});
  save_training_state(p, state);
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"m", "m.train"}));

  ParameterStore resumed(DType::F32);
  for (const auto& e : params.entries()) resumed.declare(e.name, e.shape);
  load_checkpoint(p, resumed);
  TrainingState back = load_training_state(p);
  auto adam2 = optim::make_optimizer({}, resumed);
  restore_optimizer_state(back, *adam2, resumed);
  optim::LrSchedule schedule2({.kind = "plateau", .plateau_patience = 2});
  restore_schedule_state(back, schedule2);
  EXPECT_EQ(back.optimizer_steps, 3);
  EXPECT_EQ(back.batch_index, 17);
  EXPECT_EQ(back.best_validation_loss, 2.0 / 3.0);
  EXPECT_EQ(back.plateau_bad_epochs, 1);
  EXPECT_EQ(back.plateau_scale, 0.5);
  EXPECT_EQ(back.plateau_best, 2.0);
  EXPECT_EQ(back.extra, state.extra);
  EXPECT_EQ(schedule2.lr(10), schedule.lr(10));
  std::mt19937_64 rng2;
  std::istringstream(back.rng_state) >> rng2;
  EXPECT_EQ(rng2(), rng());
  set_grads(params, 5);
  set_grads(resumed, 5);
  adam->step(params, 0.01);
  adam2->step(resumed, 0.01);
  EXPECT_TRUE(same_values(params, resumed));  // identical continuation
}

TEST(TrainingStateSidecar, MismatchesAreDetected) {
  TempDir dir;
  const std::string p = dir.file("m");
  ParameterStore params = small_store();
  auto adam = optim::make_optimizer({}, params);
  TrainingState state;
  capture_optimizer_state(state, *adam, params);
  expect_error([&] { save_training_state(p, state); }, p, "save the model before");
  save_checkpoint(p, params, {});
  save_training_state(p, state);
  auto sgd = optim::make_optimizer({.kind = "sgd"}, params);
  try {
    restore_optimizer_state(load_training_state(p), *sgd, params);
    FAIL() << "no error";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected (another optimizer?): adam_m.enc.b"), std::string::npos)
        << e.what();
  }
  params.value("enc.b").ptr<float>()[0] += 1.0f;  // a newer model without its sidecar
  save_checkpoint(p, params, {});
  expect_error([&] { load_training_state(p); }, p + ".train", "another version of the model file");
  expect_error([&] { load_training_state(dir.file("none")); }, dir.file("none.train"), "does not exist");
}

// ---- PyTorch interchange ----

namespace {

const char* kScript = "tests/python/loom_torch.py";

bool python_torch_available() {
  return fs::exists(kScript) && std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

int run_python(const std::string& args) {
  return std::system(("/usr/bin/python3 " + std::string(kScript) + " " + args + " >/dev/null").c_str());
}

// MODEL.md's parameters for one layer and dot attention.
ParameterStore model_md_store(int64_t vs, int64_t vt, int64_t e, int64_t h) {
  ParameterStore p(DType::F32);
  p.declare("src_embedding.weight", {vs, e});
  p.declare("tgt_embedding.weight", {vt, e});
  for (const char* side : {"encoder", "decoder"}) {
    const std::string s = side;
    p.declare(s + ".weight_ih_l0", {4 * h, e});
    p.declare(s + ".weight_hh_l0", {4 * h, h});
    p.declare(s + ".bias_ih_l0", {4 * h});
    p.declare(s + ".bias_hh_l0", {4 * h});
  }
  p.declare("out.weight", {vt, 2 * h});
  p.declare("out.bias", {vt});
  return p;
}

}  // namespace

TEST(PyTorchInterop, CheckpointWrittenByPyTorchLoadsStrictly) {
  if (!python_torch_available()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch, or no " << kScript;
  TempDir dir;
  const std::string p = dir.file("torch.safetensors");
  ASSERT_EQ(run_python("make --out " + p + " --src-vocab 7 --tgt-vocab 9 --embed 4 --hidden 5"), 0);
  CheckpointInfo info = read_checkpoint_info(p);
  EXPECT_EQ(config_from_json(info.config_json).at("attention"), "dot");
  EXPECT_EQ(vocabulary_from_tokens(info.source_vocab).size(), 7);
  ParameterStore params = model_md_store(7, 9, 4, 5);
  load_checkpoint(p, params);
  double sum = 0;
  for (int64_t i = 0; i < 9 * 10; ++i) sum += std::fabs(params.value("out.weight").ptr<float>()[i]);
  EXPECT_GT(sum, 0.0);
}

TEST(PyTorchInterop, LoomCheckpointGivesPyTorchLossAndEveryGradient) {
  if (!python_torch_available()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch, or no " << kScript;
  TempDir dir;
  const std::string model = dir.file("loom.safetensors"), batch = dir.file("batch.safetensors");
  ParameterStore params = model_md_store(7, 9, 4, 5);
  std::mt19937_64 rng(4);
  params.fill_uniform(rng, 0.3);
  CheckpointInfo info;
  info.config_json = config_to_json({{"attention", "dot"}, {"hidden", "5"}});
  info.source_vocab = {"<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c"};
  info.target_vocab = {"<pad>", "<unk>", "<bos>", "<eos>", "x", "y", "z", "w", "v"};
  save_checkpoint(model, params, info);
  // Two sentences, the second padded: source "a b <eos>" / "c <eos> <pad>".
  Tensor source = Tensor::from_i32({2, 3}, std::vector<int32_t>{4, 5, 3, 6, 3, 0});
  Tensor lengths = Tensor::from_i32({2}, std::vector<int32_t>{3, 2});
  Tensor tin = Tensor::from_i32({2, 3}, std::vector<int32_t>{2, 4, 5, 2, 8, 0});
  Tensor tout = Tensor::from_i32({2, 3}, std::vector<int32_t>{4, 5, 3, 8, 3, 0});
  save_safetensors(batch, {{"source", source.ref()}, {"source_lengths", lengths.ref()},
                           {"target_input", tin.ref()}, {"target_output", tout.ref()}});
  ASSERT_EQ(run_python("loss --checkpoint " + model + " --batch " + batch + " --out " + dir.file("g")), 0);
  SafetensorsFile grads = load_safetensors(dir.file("g"));
  const double loss = grads.tensor("loss").at(0);
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_GT(loss, 0.0);
  for (const auto& e : params.entries()) {
    ASSERT_TRUE(grads.has("grad." + e.name)) << e.name;
    EXPECT_EQ(grads.tensor("grad." + e.name).shape(), e.shape) << e.name;
  }
  // And back: PyTorch rewrites the checkpoint; Loom reads the same bits.
  ASSERT_EQ(run_python("resave --checkpoint " + model + " --out " + dir.file("again")), 0);
  EXPECT_EQ(read_bytes(model), read_bytes(dir.file("again")));
}

// The script's own self-tests (format, model vs MODEL.md), run here so that
// ctest covers them without a CMake entry of their own.
TEST(PyTorchInterop, PythonSelfTestsPass) {
  if (!python_torch_available()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch, or no " << kScript;
  EXPECT_EQ(std::system("/usr/bin/python3 -m unittest -q tests/python/test_safetensors_interop.py"), 0);
}
