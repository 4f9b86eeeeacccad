#include "io/model_io.hpp"

#include "io/checkpoint.hpp"

namespace loom::models {

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
    if (it == v.end()) throw CheckpointError("checkpoint file '" + path + "': loom.config has no '" + key + "'");
    return it->second;
  };
  auto integer = [&](const char* key) {
    try {
      size_t used = 0;
      int64_t x = std::stoll(get(key), &used);
      if (used == get(key).size()) return x;
    } catch (const std::logic_error&) {
    }
    throw CheckpointError("checkpoint file '" + path + "': loom.config '" + key + "' is not an integer: '" +
                          get(key) + "'");
  };
  auto real = [&](const char* key) {
    try {
      return std::stod(get(key));
    } catch (const std::logic_error&) {
      throw CheckpointError("checkpoint file '" + path + "': loom.config '" + key + "' is not a number");
    }
  };
  Seq2SeqConfig c;
  c.src_vocab = integer("src_vocab");
  c.tgt_vocab = integer("tgt_vocab");
  c.embed = integer("embed");
  c.hidden = integer("hidden");
  c.layers = integer("layers");
  c.attention = get("attention");
  c.dropout = real("dropout");
  c.label_smoothing = real("label_smoothing");
  c.seed = uint64_t(integer("seed"));
  return c;
}

void save_model(const std::string& path, Seq2Seq& model, const text::Vocabulary& source_vocab,
                const text::Vocabulary& target_vocab) {
  CheckpointInfo info;
  info.config_json = config_to_json(config_to_map(model.config()));
  info.source_vocab = vocabulary_tokens(source_vocab);
  info.target_vocab = vocabulary_tokens(target_vocab);
  save_checkpoint(path, model.params(), info);
}

LoadedModel load_model(const std::string& path) {
  CheckpointInfo info = read_checkpoint_info(path);
  Seq2SeqConfig config = config_from_map(config_from_json(info.config_json), path);
  LoadedModel out;
  out.source_vocab = vocabulary_from_tokens(info.source_vocab);
  out.target_vocab = vocabulary_from_tokens(info.target_vocab);
  if (out.source_vocab.size() != config.src_vocab || out.target_vocab.size() != config.tgt_vocab)
    throw CheckpointError("checkpoint file '" + path + "': vocabularies have " +
                          std::to_string(out.source_vocab.size()) + " and " + std::to_string(out.target_vocab.size()) +
                          " tokens but the config says " + std::to_string(config.src_vocab) + " and " +
                          std::to_string(config.tgt_vocab));
  try {
    out.model = std::make_unique<Seq2Seq>(config);
  } catch (const std::invalid_argument& e) {
    throw CheckpointError("checkpoint file '" + path + "': " + e.what());
  }
  load_checkpoint(path, out.model->params());
  return out;
}

}  // namespace loom::models
