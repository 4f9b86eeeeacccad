// Checkpoints on top of safetensors: parameter-store loading errors, model
// metadata, the training-state sidecar, and interchange with PyTorch through
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
#include "tests/support/checkpoint_files.hpp"
#include "tests/support/torch_twin.hpp"

using namespace loom;
using namespace loom::io;
using namespace loom::test;
namespace fs = std::filesystem;

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
  info.model_kind = "some-model";
  info.config_json = config_to_json({{"hidden", "16"}, {"attention", "dot"}});
  const std::vector<std::string> target = {"<pad>", "<unk>", "<bos>", "<eos>", "vamos", "ir", "año"};
  info.metadata = {{"loom.note", "hello"},
                   {"loom.source_vocab", token_list_json(vocabulary_tokens(src))},
                   {"loom.target_vocab", token_list_json(target)}};
  save_checkpoint(p, params, info);
  CheckpointInfo back = read_checkpoint_info(p);
  EXPECT_EQ(back.model_kind, "some-model");
  EXPECT_EQ(config_from_json(back.config_json).at("hidden"), "16");
  EXPECT_EQ(back.metadata, info.metadata);  // the reserved keys are not among them
  EXPECT_EQ(token_list(back, "loom.target_vocab", p), target);
  text::Vocabulary rebuilt = vocabulary_from_tokens(token_list(back, "loom.source_vocab", p));
  EXPECT_EQ(rebuilt.size(), src.size());
  EXPECT_EQ(rebuilt.id("go"), src.id("go"));
  EXPECT_EQ(vocabulary_from_tokens(token_list(back, "loom.target_vocab", p)).id("año"), 6);
  expect_error([&] { token_list(back, "loom.no_such_list", p); }, p, "has no loom.no_such_list");
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
  const CheckpointInfo bad = read_checkpoint_info(dir.file("badvocab"));
  EXPECT_EQ(bad.model_kind, "");  // a file from before loom.model: a translator's
  expect_error([&] { token_list(bad, "loom.source_vocab", dir.file("badvocab")); }, dir.file("badvocab"),
               "non-string token 1");
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

// A schedule of one's own keeps its state through a checkpoint without a
// field of its own anywhere: its named entries travel in the sidecar.
class CountingSchedule final : public optim::Schedule {
 public:
  double lr(int64_t) const override { return 1.0 / (1.0 + observed_); }
  void observe_validation(double) override { ++observed_; }
  std::map<std::string, double> state() const override { return {{"observed", double(observed_)}}; }
  void restore(const std::map<std::string, double>& s) override { observed_ = int(s.at("observed")); }

 private:
  int observed_ = 0;
};

TEST(TrainingStateSidecar, AScheduleOfOnesOwnKeepsItsStateAcrossAResume) {
  if (!optim::schedule_registry().contains("counting"))
    optim::schedule_registry().add("counting", "1 / (1 + validations seen) (test)",
                                   [](const optim::ScheduleConfig&) -> std::unique_ptr<optim::Schedule> {
                                     return std::make_unique<CountingSchedule>();
                                   });
  TempDir dir;
  const std::string p = dir.file("m");
  ParameterStore params = small_store();
  optim::LrSchedule schedule({.kind = "counting"});
  for (int i = 0; i < 3; ++i) schedule.observe_validation(1.0);
  TrainingState state;
  capture_schedule_state(state, schedule);
  save_checkpoint(p, params, {});
  save_training_state(p, state);
  optim::LrSchedule resumed({.kind = "counting"});
  restore_schedule_state(load_training_state(p), resumed);
  EXPECT_EQ(resumed.lr(0), 0.25);
  // A sidecar of a stateless schedule does not fit a stateful one: named, not guessed.
  TrainingState empty;
  save_training_state(p, empty);
  expect_error([&] { restore_schedule_state(load_training_state(p), resumed); }, "", "--schedule");
}

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
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"m", "m." + model_file_hash(p) + ".train"}));

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
  EXPECT_EQ(back.schedule_state, (std::map<std::string, double>{{"bad_epochs", 1}, {"best", 2.0}, {"scale", 0.5}}));
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
  expect_error([&] { load_training_state(p); }, p, "has no training state beside it");
  expect_error([&] { load_training_state(dir.file("none")); }, dir.file("none"), "does not exist");
  // A sidecar of the first format ("<checkpoint>.train") is read, and checked against the model.
  const std::string first_format = p + ".train";
  params.value("enc.b").ptr<float>()[0] += 1.0f;  // another model's sidecar, renamed as p's
  save_checkpoint(dir.file("other"), params, {});
  save_training_state(dir.file("other"), state);
  std::filesystem::rename(training_state_path(dir.file("other"), model_file_hash(dir.file("other"))), first_format);
  expect_error([&] { load_training_state(p); }, first_format, "another version of the model file");
}

// A save killed at each step of save_checkpoint_with_state (simulated by a
// failing write hook) leaves the previous pair, complete; the save that runs
// to the end leaves the new pair and only it.
TEST(TrainingStateSidecar, ModelAndStateCommitAsOneUnit) {
  TempDir dir;
  const std::string p = dir.file("last.safetensors");
  ParameterStore params = small_store();
  auto write_model = [&](const std::string& path) { save_checkpoint(path, params, {}); };
  TrainingState state;
  state.global_step = 1;
  save_checkpoint_with_state(p, write_model, state);
  int stages = 0;
  set_atomic_write_hook_for_testing([&](std::string_view) { ++stages; });
  params.value("enc.b").ptr<float>()[0] += 1.0f;
  state.global_step = 2;
  save_checkpoint_with_state(p, write_model, state);
  set_atomic_write_hook_for_testing({});
  ASSERT_GT(stages, 8) << "two atomic writes and the commit";
  for (int kill_at = 0; kill_at < stages; ++kill_at) {
    params.value("enc.b").ptr<float>()[0] += 1.0f;
    const int64_t before = load_training_state(p).global_step;
    state.global_step = before + 1;
    int stage = 0;
    set_atomic_write_hook_for_testing([&](std::string_view where) {
      if (stage++ == kill_at) throw std::runtime_error("killed at " + std::string(where));
    });
    const std::vector<std::string> pair = dir.listing();
    EXPECT_THROW(save_checkpoint_with_state(p, write_model, state), std::runtime_error);
    set_atomic_write_hook_for_testing({});
    EXPECT_EQ(load_training_state(p).global_step, before) << "killed at stage " << kill_at;
    EXPECT_EQ(dir.listing(), pair) << "killed at stage " << kill_at << ": no staging file, no orphan sidecar";
  }
  state.global_step = 100;
  save_checkpoint_with_state(p, write_model, state);
  EXPECT_EQ(load_training_state(p).global_step, 100);
  size_t sidecars = 0;
  for (const std::string& name : dir.listing()) sidecars += name.ends_with(".train");
  EXPECT_EQ(sidecars, 1u) << "the previous sidecar is removed once the new model is in place";
}

// A disk that fills up while the model is written: the half-written staging
// file goes, the error comes through as it was, and the folder holds the
// previous pair (or, on the first save, nothing).
TEST(TrainingStateSidecar, AFailedSaveLeavesNothingBehind) {
  TempDir dir;
  const std::string p = dir.file("last.safetensors");
  ParameterStore params = small_store();
  auto disk_full = [&](const std::string& path) {
    write_bytes(path, "half a model");
    throw std::runtime_error("No space left on device");
  };
  TrainingState state;
  EXPECT_THROW(save_checkpoint_with_state(p, disk_full, state), std::runtime_error);
  EXPECT_EQ(dir.listing(), std::vector<std::string>{});
  state.global_step = 7;
  save_checkpoint_with_state(p, [&](const std::string& path) { save_checkpoint(path, params, {}); }, state);
  const std::vector<std::string> pair = dir.listing();
  ASSERT_EQ(pair.size(), 2u);
  const std::string model = read_bytes(p);
  try {
    save_checkpoint_with_state(p, disk_full, state);
    ADD_FAILURE() << "the failed save did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "No space left on device");
  }
  EXPECT_EQ(dir.listing(), pair);
  EXPECT_EQ(read_bytes(p), model);
  EXPECT_EQ(load_training_state(p).global_step, 7);
}

// A failed save of the very weights already in place wrote its sidecar under
// the name of the one in place (the same bytes hash the same): it must stay,
// or the checkpoint in place would lose its training state.
TEST(TrainingStateSidecar, AFailedSaveOfUnchangedWeightsKeepsTheirSidecar) {
  TempDir dir;
  const std::string p = dir.file("last.safetensors");
  ParameterStore params = small_store();
  auto write_model = [&](const std::string& path) { save_checkpoint(path, params, {}); };
  save_checkpoint_with_state(p, write_model, {});
  const std::vector<std::string> pair = dir.listing();
  set_atomic_write_hook_for_testing([](std::string_view stage) {
    if (stage == "commit") throw std::runtime_error("killed at commit");
  });
  EXPECT_THROW(save_checkpoint_with_state(p, write_model, {}), std::runtime_error);
  set_atomic_write_hook_for_testing({});
  EXPECT_EQ(dir.listing(), pair);
  EXPECT_NO_THROW(load_training_state(p));
}

TEST(TrainingStateSidecar, AModelWithoutItsStateNamesTheCheckpointsThatHaveOne) {
  TempDir dir;
  ParameterStore params = small_store();
  auto write_model = [&](const std::string& path) { save_checkpoint(path, params, {}); };
  save_checkpoint_with_state(dir.file("best.safetensors"), write_model, {});
  save_checkpoint(dir.file("last.safetensors"), params, {});  // a model whose state was never written
  expect_error([&] { load_training_state(dir.file("last.safetensors")); }, dir.file("last.safetensors"),
               "checkpoints here with their training state: " + dir.file("best.safetensors"));
}

// ---- PyTorch interchange ----

namespace {

const char* const kScript = test::kTwinScript;

bool python_torch_available() { return test::torch_twin_missing().empty(); }

int run_python(const std::string& args) {
  return std::system(("/usr/bin/python3 " + std::string(kScript) + " " + args + " >/dev/null").c_str());
}

// docs/MODEL.md's parameters for one layer and dot attention.
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
  EXPECT_EQ(vocabulary_from_tokens(token_list(info, "loom.source_vocab", p)).size(), 7);
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
  info.metadata["loom.source_vocab"] = token_list_json({"<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c"});
  info.metadata["loom.target_vocab"] = token_list_json({"<pad>", "<unk>", "<bos>", "<eos>", "x", "y", "z", "w", "v"});
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

// The script's own self-tests (format, model vs docs/MODEL.md), run here so that
// ctest covers them without a CMake entry of their own.
TEST(PyTorchInterop, PythonSelfTestsPass) {
  if (!python_torch_available()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch, or no " << kScript;
  EXPECT_EQ(std::system("/usr/bin/python3 -m unittest -q tests/python/test_safetensors_interop.py"), 0);
}
