#include "models/seq2seq/model_io.hpp"

#include "io/checkpoint.hpp"
#include "io/config_check.hpp"

namespace loom::models::seq2seq {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw io::CheckpointError("checkpoint file '" + path + "': " + what);
}

std::string config_summary(const Seq2SeqConfig& c) {
  return "src_vocab=" + std::to_string(c.src_vocab) + ", tgt_vocab=" + std::to_string(c.tgt_vocab) +
         ", embed=" + std::to_string(c.embed) + ", hidden=" + std::to_string(c.hidden) +
         ", layers=" + std::to_string(c.layers) + ", attention=" + c.attention;
}

// Sizes first (a contradiction names the key and the tensor), then the
// whole layout (io/config_check.hpp).
void check_config_against_file(const Seq2SeqConfig& c, const io::SafetensorsHeader& header) {
  const io::ConfigAgainstFile file(header);
  file.expect_dim("src_vocab", c.src_vocab, "src_embedding.weight", 0);
  file.expect_dim("embed", c.embed, "src_embedding.weight", 1);
  file.expect_dim("tgt_vocab", c.tgt_vocab, "tgt_embedding.weight", 0);
  file.expect_dim("hidden", c.hidden, "encoder.weight_hh_l0", 1);
  file.expect_count("layers", c.layers, "encoder.weight_hh_l");
  std::vector<std::pair<std::string, Shape>> expected;
  try {
    expected = seq2seq_parameter_shapes(c);
  } catch (const std::invalid_argument& e) {
    file.fail(e.what());
  }
  file.expect_layout(expected, "loom.config (" + config_summary(c) + ")");
}

}  // namespace

std::map<std::string, std::string> config_to_map(const Seq2SeqConfig& c) {
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string(buf);
  };
  return {{"src_vocab", std::to_string(c.src_vocab)},
          {"tgt_vocab", std::to_string(c.tgt_vocab)},
          {"embed", std::to_string(c.embed)},
          {"hidden", std::to_string(c.hidden)},
          {"layers", std::to_string(c.layers)},
          {"attention", c.attention},
          {"dropout", num(c.dropout)},
          {"label_smoothing", num(c.label_smoothing)},
          {"seed", std::to_string(c.seed)}};
}

Seq2SeqConfig config_from_map(const std::map<std::string, std::string>& v, const std::string& path) {
  auto get = [&](const char* key) -> const std::string& {
    auto it = v.find(key);
    if (it == v.end()) throw io::CheckpointError("checkpoint file '" + path + "': loom.config has no '" + key + "'");
    return it->second;
  };
  auto integer = [&](const char* key) {
    try {
      size_t used = 0;
      int64_t x = std::stoll(get(key), &used);
      if (used == get(key).size()) return x;
    } catch (const std::logic_error&) {
    }
    throw io::CheckpointError("checkpoint file '" + path + "': loom.config '" + key + "' is not an integer: '" +
                          get(key) + "'");
  };
  // A probability: NaN and infinities are refused along with the rest.
  auto fraction = [&](const char* key) {
    double x = 0;
    try {
      x = std::stod(get(key));
    } catch (const std::logic_error&) {
      fail(path, std::string("loom.config '") + key + "' is not a number: '" + get(key) + "'");
    }
    if (!(x >= 0.0 && x < 1.0)) fail(path, std::string("loom.config '") + key + "' must be in [0, 1), got " + get(key));
    return x;
  };
  Seq2SeqConfig c;
  c.src_vocab = integer("src_vocab");
  c.tgt_vocab = integer("tgt_vocab");
  c.embed = integer("embed");
  c.hidden = integer("hidden");
  c.layers = integer("layers");
  c.attention = get("attention");
  c.dropout = fraction("dropout");
  c.label_smoothing = fraction("label_smoothing");
  c.seed = uint64_t(integer("seed"));
  return c;
}

void save_model(const std::string& path, const Seq2Seq& model, const text::Vocabulary& source_vocab,
                const text::Vocabulary& target_vocab) {
  io::save_checkpoint(path, model.params(), models::seq2seq::checkpoint_info(model.config(), source_vocab, target_vocab));
}

io::CheckpointInfo checkpoint_info(const Seq2SeqConfig& config, const text::Vocabulary& source_vocab,
                               const text::Vocabulary& target_vocab) {
  io::CheckpointInfo info;
  info.model_kind = kSeq2SeqKind;
  info.config_json = io::config_to_json(config_to_map(config));
  info.metadata[kSourceVocabKey] = io::token_list_json(io::vocabulary_tokens(source_vocab));
  info.metadata[kTargetVocabKey] = io::token_list_json(io::vocabulary_tokens(target_vocab));
  return info;
}

Seq2SeqConfig read_model_config(const std::string& path) {
  return config_from_map(io::config_from_json(io::read_checkpoint_info(path).config_json), path);
}

LoadedModel build_model(const std::string& path) {
  const io::SafetensorsHeader header = io::read_safetensors_header(path);
  io::CheckpointInfo info = io::read_checkpoint_info(path);
  if (!info.model_kind.empty() && info.model_kind != kSeq2SeqKind)
    fail(path, "holds a '" + info.model_kind + "' model, not a translator (" + kSeq2SeqKind + ")");
  Seq2SeqConfig config = config_from_map(io::config_from_json(info.config_json), path);
  check_config_against_file(config, header);
  LoadedModel out;
  out.source_vocab = io::vocabulary_from_tokens(io::token_list(info, kSourceVocabKey, path));
  out.target_vocab = io::vocabulary_from_tokens(token_list(info, kTargetVocabKey, path));
  if (out.source_vocab.size() != config.src_vocab || out.target_vocab.size() != config.tgt_vocab)
    fail(path, "vocabularies have " + std::to_string(out.source_vocab.size()) + " and " +
                   std::to_string(out.target_vocab.size()) + " tokens but the config says " +
                   std::to_string(config.src_vocab) + " and " + std::to_string(config.tgt_vocab));
  try {
    out.model = std::make_unique<Seq2Seq>(config);
  } catch (const std::invalid_argument& e) {
    fail(path, e.what());
  }
  return out;
}

LoadedModel load_model(const std::string& path, const LoadModelOptions& options) {
  LoadedModel out = build_model(path);
  io::load_checkpoint(path, out.model->params());
  out.nonfinite_parameters = io::check_loaded_weights(path, out.model->params(), options.allow_nonfinite);
  return out;
}

}  // namespace loom::models::seq2seq
