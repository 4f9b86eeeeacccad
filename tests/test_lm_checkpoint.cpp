// The language model as a registered family (models/lm/family.*): its
// options, a model described from a training file and trained a step through
// the family's own data, the save/load round trip through runtime::save_model
// and runtime::load_model (the same evaluation to the bit, vocabulary and
// config kept), and restore refusing a loom.config that contradicts the
// file's tensors, before allocating, naming the file, the key and the tensor.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "io/checkpoint.hpp"
#include "models/lm/family.hpp"
#include "models/register_models.hpp"
#include "tests/support/checkpoint_files.hpp"

namespace loom::models::lm {
namespace {

const char* kText = "In the beginning God created the heaven and the earth.\n\n"
                    "And the earth was without form, and void.\n"
                    "And God said, Let there be light: and there was light.\n";

runtime::RunRequest request(const runtime::ModelFamily& family, const std::string& train, const std::string& unit,
                            const std::string& tie = "no") {
  runtime::RunRequest r;
  for (const runtime::OptionSpec& spec : family.options) r.options[spec.name] = spec.default_value;
  r.options["embed"] = "8", r.options["hidden"] = tie == "yes" ? "8" : "10", r.options["layers"] = "2";
  r.options["unit"] = unit, r.options["tie-weights"] = tie, r.options["max-length"] = "16";
  r.train_path = r.valid_path = train;
  r.batch_size = 2;
  r.seed = 9;
  return r;
}

struct Trained {
  std::unique_ptr<runtime::Model> model;
  std::unique_ptr<runtime::Dataset> data;
};

// A model described by the family from the text, trained for two steps.
Trained train_small(const std::string& path, const std::string& unit, const std::string& tie = "no") {
  register_builtin_models();
  const runtime::ModelFamily family = runtime::model_registry().make("lm");
  const runtime::RunRequest r = request(family, path, unit, tie);
  runtime::ModelBlueprint blueprint = family.describe(r);
  Trained t{blueprint.build(), nullptr};
  EXPECT_EQ(blueprint.parameter_shapes.size(), t.model->params().entries().size());
  t.model->init_parameters(r.seed);
  t.data = family.open_data(*t.model, path, r, true);
  for (const auto& rows : t.data->epoch_plan(0)) {
    t.model->train_step(*t.data->make_batch(rows));
    break;
  }
  return t;
}

TEST(LmFamily, IsRegisteredWithItsOptionsAndData) {
  register_builtin_models();
  ASSERT_TRUE(runtime::model_registry().contains("lm"));
  const runtime::ModelFamily family = runtime::model_registry().make("lm");
  EXPECT_EQ(family.default_train, "data/kjv/train.txt");
  EXPECT_EQ(family.default_valid, "data/kjv/valid.txt");
  std::map<std::string, runtime::OptionSpec> by_name;
  for (const runtime::OptionSpec& spec : family.options) by_name[spec.name] = spec;
  for (const char* name : {"embed", "hidden", "layers", "dropout", "tie-weights", "unit"})
    EXPECT_TRUE(by_name.at(name).architecture) << name;
  for (const char* name : {"min-freq", "max-vocab", "max-length", "length-multiple"})
    EXPECT_FALSE(by_name.at(name).architecture) << name;
  EXPECT_EQ(by_name.at("unit").default_value, "word");
  EXPECT_EQ(by_name.at("tie-weights").default_value, "no");
  EXPECT_EQ(by_name.at("max-length").default_value, "128");
  EXPECT_EQ(runtime::check_option(by_name.at("unit"), "byte"), "--unit must be one of word, char, got 'byte'");
  runtime::RunRequest r = request(family, "unused", "word", "yes");
  r.options["hidden"] = "9";
  try {
    config_of(r, 20);
    ADD_FAILURE() << "tied weights with embed != hidden accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--tie-weights yes needs --embed equal to --hidden"), std::string::npos);
  }
}

TEST(LmFamily, SaveAndLoadGiveTheSameEvaluationBitForBit) {
  test::TempDir dir;
  const std::string text = dir.file("t.txt");
  std::ofstream(text) << kText;
  for (const auto& [unit, tie] : {std::pair{"char", "yes"}, std::pair{"word", "no"}}) {
    SCOPED_TRACE(std::string(unit) + ", tied " + tie);
    Trained t = train_small(text, unit, tie);
    const std::string path = dir.file(std::string(unit) + ".safetensors");
    runtime::save_model(path, *t.model);
    runtime::LoadedModel loaded = runtime::load_model(path);
    EXPECT_EQ(loaded.kind, "lm");
    EXPECT_EQ(loaded.model->config(), t.model->config());
    EXPECT_EQ(loaded.model->config().at("unit"), unit);
    EXPECT_EQ(loaded.model->config().at("tie_weights"), tie);
    const auto& lm = dynamic_cast<const LanguageModel&>(*loaded.model);
    EXPECT_EQ(lm.vocab().tokens(), dynamic_cast<const LanguageModel&>(*t.model).vocab().tokens());
    for (const auto& rows : t.data->evaluation_plan()) {
      const auto batch = t.data->make_batch(rows);
      const runtime::Evaluation a = t.model->evaluate_batch(*batch), b = loaded.model->evaluate_batch(*batch);
      EXPECT_EQ(a.loss_sum, b.loss_sum);
      EXPECT_EQ(a.tokens, b.tokens);
    }
  }
}

// The saved model's checkpoint with loom.config edited by `edit`.
std::string tampered(const test::TempDir& dir, runtime::Model& model, const std::string& name,
                     const std::function<void(std::map<std::string, std::string>&)>& edit) {
  io::CheckpointInfo info;
  info.model_kind = model.kind();
  std::map<std::string, std::string> config = model.config();
  edit(config);
  info.config_json = io::config_to_json(config);
  info.metadata = model.metadata();
  const std::string path = dir.file(name);
  io::save_checkpoint(path, model.params(), info);
  return path;
}

TEST(LmFamily, RestoreRefusesAConfigThatContradictsTheTensors) {
  test::TempDir dir;
  const std::string text = dir.file("t.txt");
  std::ofstream(text) << kText;
  Trained t = train_small(text, "word");
  using Config = std::map<std::string, std::string>;
  auto refused = [&](const std::string& name, const std::function<void(Config&)>& edit, const std::string& what) {
    const std::string path = tampered(dir, *t.model, name, edit);
    test::expect_error([&] { runtime::load_model(path); }, path, what);
  };
  refused("hidden.safetensors", [](Config& c) { c["hidden"] = "12"; },
          "loom.config says hidden=12 but lstm.weight_hh_l0 is [40,10]");
  refused("huge.safetensors", [](Config& c) { c["vocab"] = "1000000000000"; },
          "loom.config says vocab=1000000000000 but embedding.weight is");
  refused("layers.safetensors", [](Config& c) { c["layers"] = "3"; }, "the file has no tensor lstm.weight_hh_l2");
  refused("fewer.safetensors", [](Config& c) { c["layers"] = "1"; }, "the file also holds lstm.weight_hh_l1");
  refused("tied.safetensors", [](Config& c) { c["tie_weights"] = "yes"; }, "the file holds out.weight");
  refused("unit.safetensors", [](Config& c) { c["unit"] = "byte"; }, "loom.config 'unit' must be word or char");
  refused("missing.safetensors", [](Config& c) { c.erase("dropout"); }, "loom.config has no 'dropout'");
  refused("dropout.safetensors", [](Config& c) { c["dropout"] = "nan"; }, "loom.config 'dropout' must be in [0, 1)");
}

TEST(LmFamily, RestoreRefusesAnotherModelsCheckpointAndAShortVocabulary) {
  test::TempDir dir;
  const std::string text = dir.file("t.txt");
  std::ofstream(text) << kText;
  Trained t = train_small(text, "word");
  io::CheckpointInfo info;
  info.model_kind = "seq2seq";
  info.config_json = io::config_to_json(t.model->config());
  test::expect_error([&] { restore_lm(text, info); }, text, "holds a 'seq2seq' model, not a language model (lm)");

  const std::string path = dir.file("short_vocab.safetensors");
  info.model_kind = "lm";
  info.metadata[kVocabKey] = io::token_list_json({"<pad>", "<unk>", "<bos>", "<eos>", "the"});
  io::save_checkpoint(path, t.model->params(), info);
  test::expect_error([&] { runtime::load_model(path); }, path, "loom.vocab has 5 tokens but loom.config says vocab=");
}

}  // namespace
}  // namespace loom::models::lm
