// The language model's config: checks, parameter layout, loom.config and the
// check of a checkpoint's config against its file (config.hpp).
#include "models/lm/config.hpp"

#include <cstdio>
#include <set>
#include <stdexcept>

#include "io/config_check.hpp"
#include "text/vocabulary.hpp"

namespace loom::models::lm {

std::string unit_name(Unit unit) { return unit == Unit::Char ? "char" : "word"; }

Unit unit_from_name(const std::string& name) {
  if (name == "word") return Unit::Word;
  if (name == "char") return Unit::Char;
  throw std::invalid_argument("unit must be word or char, got '" + name + "'");
}

// NaN fails every comparison, so the ranges are written to fail for it.
void check_config(const LmConfig& c) {
  if (c.vocab <= text::Vocabulary::kReserved)
    throw std::invalid_argument("LmConfig: vocab must exceed the 4 reserved ids, got " + std::to_string(c.vocab));
  if (c.embed <= 0 || c.hidden <= 0 || c.layers <= 0)
    throw std::invalid_argument("LmConfig: embed, hidden and layers must be positive, got " + std::to_string(c.embed) +
                                ", " + std::to_string(c.hidden) + " and " + std::to_string(c.layers));
  if (!(c.dropout >= 0.0 && c.dropout < 1.0))
    throw std::invalid_argument("LmConfig: dropout must be in [0, 1), got " + std::to_string(c.dropout));
  if (c.tie_weights && c.embed != c.hidden)
    throw std::invalid_argument("LmConfig: tied weights need embed == hidden (the output layer reuses the " +
                                std::to_string(c.vocab) + " x " + std::to_string(c.embed) +
                                " embedding table as its weight, which must be vocab x hidden), got embed " +
                                std::to_string(c.embed) + " and hidden " + std::to_string(c.hidden));
  if (c.dtype == DType::I32) throw std::invalid_argument("LmConfig: dtype must be f32 or f64");
}

std::vector<std::pair<std::string, Shape>> lm_parameter_shapes(const LmConfig& c) {
  check_config(c);
  const int64_t E = c.embed, H = c.hidden, G = 4 * H;
  std::vector<std::pair<std::string, Shape>> out;
  out.emplace_back("embedding.weight", Shape{c.vocab, E});
  for (int64_t k = 0; k < c.layers; ++k) {
    const std::string l = std::to_string(k);
    out.emplace_back("lstm.weight_ih_l" + l, Shape{G, k == 0 ? E : H});
    out.emplace_back("lstm.weight_hh_l" + l, Shape{G, H});
    out.emplace_back("lstm.bias_ih_l" + l, Shape{G});
    out.emplace_back("lstm.bias_hh_l" + l, Shape{G});
  }
  if (!c.tie_weights) out.emplace_back("out.weight", Shape{c.vocab, H});
  out.emplace_back("out.bias", Shape{c.vocab});
  return out;
}

std::map<std::string, std::string> config_to_map(const LmConfig& c) {
  char dropout[32];
  std::snprintf(dropout, sizeof dropout, "%.17g", c.dropout);
  return {{"vocab", std::to_string(c.vocab)},   {"embed", std::to_string(c.embed)},
          {"hidden", std::to_string(c.hidden)}, {"layers", std::to_string(c.layers)},
          {"dropout", dropout},                 {"tie_weights", c.tie_weights ? "yes" : "no"},
          {"unit", unit_name(c.unit)},          {"seed", std::to_string(c.seed)}};
}

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw io::CheckpointError("checkpoint file '" + path + "': " + what);
}

// Reads the keys of one loom.config, each error naming the file and the key.
struct ConfigReader {
  const std::map<std::string, std::string>& values;
  const std::string& path;

  const std::string& get(const char* key) const {
    auto it = values.find(key);
    if (it == values.end()) fail(path, std::string("loom.config has no '") + key + "'");
    return it->second;
  }
  int64_t integer(const char* key) const {
    const std::string& text = get(key);
    try {
      size_t used = 0;
      const int64_t x = std::stoll(text, &used);
      if (used == text.size()) return x;
    } catch (const std::logic_error&) {
    }
    fail(path, std::string("loom.config '") + key + "' is not an integer: '" + text + "'");
  }
  // A probability: NaN and infinities are refused along with the rest.
  double fraction(const char* key) const {
    const std::string& text = get(key);
    double x = 0;
    try {
      x = std::stod(text);
    } catch (const std::logic_error&) {
      fail(path, std::string("loom.config '") + key + "' is not a number: '" + text + "'");
    }
    if (!(x >= 0.0 && x < 1.0)) fail(path, std::string("loom.config '") + key + "' must be in [0, 1), got " + text);
    return x;
  }
  const std::string& one_of(const char* key, const char* a, const char* b) const {
    const std::string& text = get(key);
    if (text != a && text != b)
      fail(path, std::string("loom.config '") + key + "' must be " + a + " or " + b + ", got '" + text + "'");
    return text;
  }
};

}  // namespace

LmConfig config_from_map(const std::map<std::string, std::string>& values, const std::string& path) {
  const ConfigReader r{values, path};
  LmConfig c;
  c.vocab = r.integer("vocab");
  c.embed = r.integer("embed");
  c.hidden = r.integer("hidden");
  c.layers = r.integer("layers");
  c.dropout = r.fraction("dropout");
  c.tie_weights = r.one_of("tie_weights", "yes", "no") == "yes";
  c.unit = unit_from_name(r.one_of("unit", "word", "char"));
  c.seed = uint64_t(r.integer("seed"));
  return c;
}

namespace {

std::string config_summary(const LmConfig& c) {
  return "vocab=" + std::to_string(c.vocab) + ", embed=" + std::to_string(c.embed) +
         ", hidden=" + std::to_string(c.hidden) + ", layers=" + std::to_string(c.layers) +
         ", tie_weights=" + (c.tie_weights ? "yes" : "no");
}

}  // namespace

// Each size is read off one tensor first, so that a contradiction names the
// key and that tensor; then the whole layout is compared. Sizes that agree
// with the file's tensors are bounded by the file's own (validated) size, so
// building the model afterwards cannot allocate far more than the file holds.
void check_config_against_file(const LmConfig& c, const io::SafetensorsHeader& header) {
  const io::ConfigAgainstFile file(header);
  file.expect_dim("vocab", c.vocab, "embedding.weight", 0);
  file.expect_dim("embed", c.embed, "embedding.weight", 1);
  file.expect_dim("hidden", c.hidden, "lstm.weight_hh_l0", 1);
  file.expect_count("layers", c.layers, "lstm.weight_hh_l");
  if (c.tie_weights && file.has("out.weight"))
    file.fail("loom.config says tie_weights=yes but the file holds out.weight (a tied model has none)");
  if (!c.tie_weights && !file.has("out.weight"))
    file.fail("loom.config says tie_weights=no but the file has no tensor out.weight");
  std::vector<std::pair<std::string, Shape>> expected;
  try {
    expected = lm_parameter_shapes(c);
  } catch (const std::invalid_argument& e) {
    file.fail(e.what());
  }
  file.expect_layout(expected, "loom.config (" + config_summary(c) + ")");
}

}  // namespace loom::models::lm
