// load_model's checks before and after it allocates: loom.config against the
// tensor shapes the file declares (a config that contradicts its tensors is
// refused naming the key and the tensor, before the model is built), the
// dropout and label-smoothing ranges, and weights holding NaN or infinity.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "io/checkpoint.hpp"
#include "models/seq2seq/model_io.hpp"
#include "models/seq2seq/translator.hpp"
#include "runtime/model_family.hpp"
#include "tests/support/checkpoint_files.hpp"
#include "tests/support/registered.hpp"

using namespace loom;
using namespace loom::models::seq2seq;
using namespace loom::io;
using namespace loom::test;

namespace {

text::Vocabulary vocab(int extra_words) {
  std::vector<std::string> tokens = {"<pad>", "<unk>", "<bos>", "<eos>"};
  for (int i = 0; i < extra_words; ++i) tokens.push_back("w" + std::to_string(i));
  return text::Vocabulary::from_tokens(tokens);
}

// A small saved translator: Vs = 7, Vt = 9, E = 4, H = 6, L = 2, general attention.
std::string save_small_model(const TempDir& dir) {
  Seq2SeqConfig c;
  c.src_vocab = 7;
  c.tgt_vocab = 9;
  c.embed = 4;
  c.hidden = 6;
  c.layers = 2;
  c.attention = "general";
  Seq2Seq model(c);
  model.init_parameters(3);
  const std::string path = dir.file("model.safetensors");
  save_model(path, model, vocab(3), vocab(5));
  return path;
}

// The same tensors under a loom.config with `key` set to `value`.
std::string with_config(const TempDir& dir, const std::string& source, const std::string& key,
                        const std::string& value) {
  SafetensorsFile file = load_safetensors(source);
  std::map<std::string, std::string> config = config_from_json(file.metadata.at("loom.config"));
  config[key] = value;
  file.metadata["loom.config"] = config_to_json(config);
  std::vector<NamedTensor> tensors;
  for (auto& [name, tensor] : file.tensors) tensors.push_back({name, tensor.ref()});
  const std::string path = dir.file(key + "=" + value);
  save_safetensors(path, tensors, file.metadata);
  return path;
}

// The same file with one value of `tensor` replaced.
std::string with_value(const TempDir& dir, const std::string& source, const std::string& tensor, float value) {
  SafetensorsFile file = load_safetensors(source);
  std::vector<NamedTensor> tensors;
  for (auto& [name, t] : file.tensors) tensors.push_back({name, t.ref()});
  file.tensors.at(tensor).ref().ptr<float>()[1] = value;
  const std::string path = dir.file("bad-" + tensor);
  save_safetensors(path, tensors, file.metadata);
  return path;
}

}  // namespace

TEST(ModelLoad, SizesThatContradictTheTensorsNameTheKeyAndTheTensor) {
  TempDir dir;
  const std::string good = save_small_model(dir);
  EXPECT_EQ(load_model(good).model->config().layers, 2);
  // Each of these would allocate gigabytes (or far more) if the model were built first.
  expect_error([&] { load_model(with_config(dir, good, "hidden", "100000")); }, "hidden=100000",
               "config says hidden=100000 but encoder.weight_hh_l0 is [24,6]");
  expect_error([&] { load_model(with_config(dir, good, "layers", "1000")); }, "layers=1000",
               "config says layers=1000 but the file has no tensor encoder.weight_hh_l2");
  expect_error([&] { load_model(with_config(dir, good, "layers", "1")); }, "layers=1",
               "config says layers=1 but the file also holds encoder.weight_hh_l1");
  expect_error([&] { load_model(with_config(dir, good, "embed", "1000000")); }, "embed=1000000",
               "config says embed=1000000 but src_embedding.weight is [7,4]");
  expect_error([&] { load_model(with_config(dir, good, "src_vocab", "100000000")); }, "src_vocab=100000000",
               "config says src_vocab=100000000 but src_embedding.weight is [7,4]");
  expect_error([&] { load_model(with_config(dir, good, "tgt_vocab", "5")); }, "tgt_vocab=5",
               "config says tgt_vocab=5 but tgt_embedding.weight is [9,4]");
}

TEST(ModelLoad, AnAttentionKindThatContradictsTheTensorsIsRefused) {
  TempDir dir;
  const std::string good = save_small_model(dir);
  // dot has no parameters of its own: the file's attention.weight is unexplained.
  expect_error([&] { load_model(with_config(dir, good, "attention", "dot")); }, "attention=dot",
               "has no parameter attention.weight [6,6], which the file holds");
  expect_error([&] { load_model(with_config(dir, good, "attention", "additive")); }, "attention=additive",
               "needs attention.w_query [6,6], which the file lacks");
  expect_error([&] { load_model(with_config(dir, good, "attention", "bogus")); }, "attention=bogus", "bogus");
}

TEST(ModelLoad, DropoutAndLabelSmoothingOutOfRangeAreRefused) {
  TempDir dir;
  const std::string good = save_small_model(dir);
  expect_error([&] { load_model(with_config(dir, good, "dropout", "nan")); }, "dropout=nan",
               "loom.config 'dropout' must be in [0, 1), got nan");
  expect_error([&] { load_model(with_config(dir, good, "dropout", "1.5")); }, "dropout=1.5",
               "'dropout' must be in [0, 1), got 1.5");
  expect_error([&] { load_model(with_config(dir, good, "label_smoothing", "-0.1")); }, "label_smoothing=-0.1",
               "'label_smoothing' must be in [0, 1), got -0.1");
  expect_error([&] { load_model(with_config(dir, good, "label_smoothing", "inf")); }, "label_smoothing=inf",
               "'label_smoothing' must be in [0, 1), got inf");
  expect_error([&] { load_model(with_config(dir, good, "dropout", "x")); }, "dropout=x", "'dropout' is not a number");
}

TEST(ModelLoad, NonFiniteWeightsAreRefusedUnlessAllowed) {
  TempDir dir;
  const std::string good = save_small_model(dir);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::string with_nan = with_value(dir, good, "decoder.bias_hh_l1", nan);
  expect_error([&] { load_model(with_nan); }, with_nan, "parameter decoder.bias_hh_l1 holds NaN or infinity");
  const std::string with_inf = with_value(dir, good, "out.weight", -inf);
  expect_error([&] { load_model(with_inf); }, with_inf, "parameter out.weight holds NaN or infinity");
  LoadedModel loaded = load_model(with_nan, {.allow_nonfinite = true});
  EXPECT_EQ(loaded.nonfinite_parameters, std::vector<std::string>{"decoder.bias_hh_l1"});
  EXPECT_TRUE(std::isnan(loaded.model->params().value("decoder.bias_hh_l1").ptr<float>()[1]));
  EXPECT_TRUE(load_model(good).nonfinite_parameters.empty());
}

// A translator checkpoint written before checkpoints named their model kind
// (the fuzz seed, saved by an earlier Loom) still loads, through the
// translator's own loader and through the generic one, which takes a file
// without loom.model for a translator; a model of an unknown kind is refused
// naming it and the known ones.
TEST(ModelLoad, CheckpointsFromBeforeModelKindsLoadAsTranslators) {
  const std::string old = "tests/fuzz/corpus/checkpoint/toy_model.safetensors";
  ASSERT_EQ(loom::io::read_checkpoint_info(old).model_kind, "") << "the seed predates loom.model";
  const auto translator = loom::models::seq2seq::load_model(old);
  const loom::runtime::LoadedModel any = loom::runtime::load_model(old);
  EXPECT_EQ(any.kind, "seq2seq");
  EXPECT_EQ(any.model->kind(), "seq2seq");
  EXPECT_EQ(any.model->params().numel(), translator.model->params().numel());
  loom::test::TempDir dir;
  loom::io::CheckpointInfo info = loom::io::read_checkpoint_info(old);
  info.model_kind = "no-such-model";
  loom::io::save_checkpoint(dir.file("odd"), any.model->params(), info);
  try {
    loom::runtime::load_model(dir.file("odd"));
    ADD_FAILURE() << "a model of an unknown kind loaded";
  } catch (const loom::io::CheckpointError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'no-such-model' model, which this program does not know"), std::string::npos) << what;
    EXPECT_NE(what.find("seq2seq"), std::string::npos) << what;
  }
}
