// The language model's config: checks, parameter layout, loom.config and the
// check of a checkpoint's config against its file (config.hpp).
#include "models/lm/config.hpp"

#include <cstdio>
#include <set>
#include <stdexcept>

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

// The whole layout the config implies against the file, tensor by tensor.
void compare_layout(const LmConfig& c, const std::map<std::string, Shape>& file_shapes, const std::string& path) {
  std::vector<std::pair<std::string, Shape>> expected;
  try {
    expected = lm_parameter_shapes(c);
  } catch (const std::invalid_argument& e) {
    fail(path, e.what());
  }
  std::set<std::string> wanted;
  const std::string config = "loom.config (" + config_summary(c) + ") ";
  for (const auto& [name, shape] : expected) {
    wanted.insert(name);
    auto it = file_shapes.find(name);
    if (it == file_shapes.end()) fail(path, config + "needs " + name + " " + shape.str() + ", which the file lacks");
    if (!(it->second == shape))
      fail(path, config + "needs " + name + " " + shape.str() + " but the file's is " + it->second.str());
  }
  for (const auto& [name, shape] : file_shapes)
    if (!wanted.count(name)) fail(path, config + "has no parameter " + name + " " + shape.str() + ", which the file holds");
}

}  // namespace

// Each size is read off one tensor first, so that a contradiction names the
// key and that tensor; then the whole layout is compared. Sizes that agree
// with the file's tensors are bounded by the file's own (validated) size, so
// building the model afterwards cannot allocate far more than the file holds.
void check_config_against_file(const LmConfig& c, const io::SafetensorsHeader& header) {
  const std::string& path = header.path;
  std::map<std::string, Shape> file_shapes;
  for (const io::SafetensorsEntry& e : header.entries) file_shapes.emplace(e.name, Shape(std::span(e.shape)));
  auto says = [](const char* key, const std::string& value) {
    return std::string("loom.config says ") + key + "=" + value + " but ";
  };
  auto check_dim = [&](const char* key, int64_t value, const std::string& tensor, int axis) {
    auto it = file_shapes.find(tensor);
    if (it == file_shapes.end()) fail(path, says(key, std::to_string(value)) + "the file has no tensor " + tensor);
    if (it->second.rank() != 2) fail(path, tensor + " is " + it->second.str() + "; a matrix was expected");
    if (it->second[axis] != value) fail(path, says(key, std::to_string(value)) + tensor + " is " + it->second.str());
  };
  check_dim("vocab", c.vocab, "embedding.weight", 0);
  check_dim("embed", c.embed, "embedding.weight", 1);
  check_dim("hidden", c.hidden, "lstm.weight_hh_l0", 1);
  int64_t layers = 0;
  while (file_shapes.count("lstm.weight_hh_l" + std::to_string(layers))) ++layers;
  if (c.layers > layers)
    fail(path, says("layers", std::to_string(c.layers)) + "the file has no tensor lstm.weight_hh_l" +
                   std::to_string(layers));
  if (c.layers >= 1 && c.layers < layers)
    fail(path, says("layers", std::to_string(c.layers)) + "the file also holds lstm.weight_hh_l" +
                   std::to_string(c.layers));
  const bool has_out_weight = file_shapes.count("out.weight") != 0;
  if (c.tie_weights && has_out_weight)
    fail(path, says("tie_weights", "yes") + "the file holds out.weight (a tied model has none)");
  if (!c.tie_weights && !has_out_weight)
    fail(path, says("tie_weights", "no") + "the file has no tensor out.weight");
  compare_layout(c, file_shapes, path);
}

}  // namespace loom::models::lm
