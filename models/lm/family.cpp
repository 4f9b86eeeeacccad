// The language model's family: options, describe, restore, open_data and its
// registration (family.hpp).
#include "models/lm/family.hpp"

#include <stdexcept>

#include "io/checkpoint.hpp"
#include "io/safetensors.hpp"

namespace loom::models::lm {

namespace {

constexpr int64_t kMaxWidth = 8192;  // --embed, --hidden: past this it is a typo, not a model
constexpr int64_t kMaxLayers = 64;
constexpr int64_t kMaxLength = 4096;  // --max-length: a plan's sequence length

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw io::CheckpointError("checkpoint file '" + path + "': " + what);
}

}  // namespace

std::vector<runtime::OptionSpec> lm_options() {
  using runtime::OptionSpec;
  return {
      OptionSpec::integer("embed", 256, "embedding size E", 1, kMaxWidth).fixed_by_checkpoint(),
      OptionSpec::integer("hidden", 256, "LSTM hidden size H", 1, kMaxWidth).fixed_by_checkpoint(),
      OptionSpec::integer("layers", 2, "LSTM layers L", 1, kMaxLayers).fixed_by_checkpoint(),
      OptionSpec::real("dropout", 0.2, "dropout on embeddings and LSTM outputs", 0, 1, true).fixed_by_checkpoint(),
      OptionSpec::text("tie-weights", "no", "output layer reuses embedding.weight (needs --embed = --hidden)",
                       {"yes", "no"})
          .fixed_by_checkpoint(),
      OptionSpec::text("unit", "word", "tokens are words (the tokenizer's, lower-cased) or characters (code points)",
                       {"word", "char"})
          .fixed_by_checkpoint(),
      OptionSpec::integer("min-freq", 1, "rarer tokens become <unk>", 1),
      OptionSpec::integer("max-vocab", 0, "largest vocabulary, reserved ids included (0 = no limit)", 0),
      OptionSpec::integer("max-length", 128, "longer lines are cut into sequences of this many tokens", 1, kMaxLength),
      OptionSpec::integer("length-multiple", 8, "pad batch lengths up to a multiple of this, so fewer plans are compiled",
                          1, 64),
  };
}

LmConfig config_of(const runtime::RunRequest& r, int64_t vocab) {
  LmConfig c;
  c.vocab = vocab;
  c.embed = runtime::option_integer(r.options, "embed");
  c.hidden = runtime::option_integer(r.options, "hidden");
  c.layers = runtime::option_integer(r.options, "layers");
  c.dropout = runtime::option_real(r.options, "dropout");
  const std::string& tie = runtime::option_text(r.options, "tie-weights");
  if (tie != "yes" && tie != "no") throw std::invalid_argument("--tie-weights must be yes or no, got '" + tie + "'");
  c.tie_weights = tie == "yes";
  try {
    c.unit = unit_from_name(runtime::option_text(r.options, "unit"));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--") + e.what());
  }
  if (c.tie_weights && c.embed != c.hidden)
    throw std::invalid_argument("--tie-weights yes needs --embed equal to --hidden (the output layer's weight is "
                                "the embedding table), got --embed " +
                                std::to_string(c.embed) + " and --hidden " + std::to_string(c.hidden));
  c.matmul_precision = r.precision;
  c.seed = r.seed;
  return c;
}

std::unique_ptr<LanguageModel> restore_lm(const std::string& path, const io::CheckpointInfo& info) {
  if (info.model_kind != kLmKind)
    fail(path, "holds a '" + runtime::checkpoint_model_kind(info) + "' model, not a language model (" + kLmKind + ")");
  const LmConfig config = config_from_map(io::config_from_json(info.config_json), path);
  check_config_against_file(config, io::read_safetensors_header(path));
  text::Vocabulary vocab = io::vocabulary_from_tokens(io::token_list(info, kVocabKey, path));
  if (vocab.size() != config.vocab)
    fail(path, std::string(kVocabKey) + " has " + std::to_string(vocab.size()) + " tokens but loom.config says vocab=" +
                   std::to_string(config.vocab));
  try {
    return std::make_unique<LanguageModel>(config, std::move(vocab));
  } catch (const std::invalid_argument& e) {
    fail(path, e.what());
  }
}

namespace {

runtime::ModelBlueprint describe_lm(const runtime::RunRequest& r) {
  text::VocabularyOptions vo;
  vo.min_frequency = runtime::option_integer(r.options, "min-freq");
  vo.max_size = runtime::option_integer(r.options, "max-vocab");
  const Unit unit = unit_from_name(runtime::option_text(r.options, "unit"));
  auto vocab = std::make_shared<text::Vocabulary>(build_vocabulary(r.train_path, unit, vo));
  const LmConfig config = config_of(r, vocab->size());
  return {lm_parameter_shapes(config), [config, vocab]() -> std::unique_ptr<runtime::Model> {
            return std::make_unique<LanguageModel>(config, *vocab);
          }};
}

std::unique_ptr<runtime::Dataset> open_text(const runtime::Model& model, const std::string& path,
                                            const runtime::RunRequest& r, bool training) {
  const auto& lm = dynamic_cast<const LanguageModel&>(model);
  DataOptions o;
  o.batch_size = training ? r.batch_size : kEvaluationBatch;
  o.max_length = runtime::option_integer(r.options, "max-length");
  o.length_multiple = runtime::option_integer(r.options, "length-multiple");
  o.seed = r.seed;
  o.shuffle = training;
  return std::make_unique<LmData>(path, lm.lm_config().unit, lm.vocab(), o);
}

}  // namespace

void register_lm() {
  runtime::register_model_family(kLmKind, "the LSTM language model (docs/MODEL.md, The language model)", [] {
    runtime::ModelFamily f;
    f.default_train = "data/kjv/train.txt";
    f.default_valid = "data/kjv/valid.txt";
    f.data_help = "plain text, one sequence per line (UTF-8)";
    f.options = lm_options();
    f.describe = describe_lm;
    f.restore = [](const std::string& path, const io::CheckpointInfo& info) -> std::unique_ptr<runtime::Model> {
      return restore_lm(path, info);
    };
    f.open_data = open_text;
    return f;
  });
}

}  // namespace loom::models::lm
