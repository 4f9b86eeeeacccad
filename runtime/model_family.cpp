// The model registry, option checks, and loading or saving any registered
// model (model_family.hpp).
#include "runtime/model_family.hpp"

#include <charconv>
#include <optional>
#include <cmath>
#include <cstdio>

#include "io/checkpoint.hpp"

namespace loom::runtime {

namespace {

// The whole text as a number, or nullopt ("12x", "", "nan" are not).
std::optional<double> parse_number(const std::string& text, bool integer) {
  if (integer) {
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return double(value);
  }
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;  // NaN and infinities too: the range check refuses them in its own words
}

std::string number_text(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

const std::string& value_of(const OptionValues& values, const std::string& name) {
  auto it = values.find(name);
  if (it == values.end()) throw std::invalid_argument("model option --" + name + " was not given a value");
  return it->second;
}

}  // namespace

OptionSpec OptionSpec::integer(std::string name, int64_t value, std::string help, double min, double max) {
  OptionSpec o;
  o.name = std::move(name);
  o.kind = Kind::Integer;
  o.default_value = std::to_string(value);
  o.help = std::move(help);
  o.min = min;
  o.max = max;
  return o;
}

OptionSpec OptionSpec::real(std::string name, double value, std::string help, double min, double max,
                            bool max_exclusive) {
  OptionSpec o;
  o.name = std::move(name);
  o.kind = Kind::Real;
  o.default_value = number_text(value);
  o.help = std::move(help);
  o.min = min;
  o.max = max;
  o.max_exclusive = max_exclusive;
  return o;
}

OptionSpec OptionSpec::text(std::string name, std::string value, std::string help, std::vector<std::string> choices) {
  OptionSpec o;
  o.name = std::move(name);
  o.kind = Kind::Text;
  o.default_value = std::move(value);
  o.help = std::move(help);
  o.choices = std::move(choices);
  return o;
}

std::string check_option(const OptionSpec& spec, const std::string& text) {
  const std::string option = "--" + spec.name;
  if (spec.kind == OptionSpec::Kind::Text) {
    if (spec.choices.empty()) return "";
    for (const std::string& c : spec.choices)
      if (c == text) return "";
    std::string known;
    for (const std::string& c : spec.choices) known += (known.empty() ? "" : ", ") + c;
    return option + " must be one of " + known + ", got '" + text + "'";
  }
  const bool integer = spec.kind == OptionSpec::Kind::Integer;
  const std::optional<double> x = parse_number(text, integer);
  if (!x) return option + " must be " + (integer ? "an integer" : "a number") + ", got '" + text + "'";
  const bool fits = std::isfinite(*x) && *x >= spec.min && (spec.max_exclusive ? *x < spec.max : *x <= spec.max);
  if (fits) return "";
  if (std::isinf(spec.max)) return option + " must be >= " + number_text(spec.min) + ", got " + text;
  return option + " must be in [" + number_text(spec.min) + ", " + number_text(spec.max) +
         (spec.max_exclusive ? ")" : "]") + ", got " + text;
}

int64_t option_integer(const OptionValues& values, const std::string& name) {
  const std::string& text = value_of(values, name);
  std::optional<double> x = parse_number(text, true);
  if (!x) throw std::invalid_argument("--" + name + " must be an integer, got '" + text + "'");
  return int64_t(*x);
}

double option_real(const OptionValues& values, const std::string& name) {
  const std::string& text = value_of(values, name);
  std::optional<double> x = parse_number(text, false);
  if (!x || !std::isfinite(*x)) throw std::invalid_argument("--" + name + " must be a finite number, got '" + text + "'");
  return *x;
}

const std::string& option_text(const OptionValues& values, const std::string& name) { return value_of(values, name); }

ModelRegistry& model_registry() {
  static ModelRegistry* registry = new ModelRegistry("model");  // never destroyed: outlives static models
  return *registry;
}

void register_model_family(const std::string& name, const std::string& help, std::function<ModelFamily()> make) {
  if (!model_registry().contains(name)) model_registry().add(name, help, std::move(make));
}

std::string checkpoint_model_kind(const CheckpointInfo& info) {
  return info.model_kind.empty() ? "seq2seq" : info.model_kind;
}

LoadedModel load_model(const std::string& path, const LoadOptions& options) {
  LoadedModel out;
  out.info = io::read_checkpoint_info(path);
  out.kind = checkpoint_model_kind(out.info);
  if (!model_registry().contains(out.kind))
    throw io::CheckpointError("checkpoint file '" + path + "' holds a '" + out.kind +
                                  "' model, which this program does not know (known: " +
                                  model_registry().names_text() + ")");
  out.model = model_registry().make(out.kind).restore(path, out.info);
  io::load_parameters(path, out.model->params());
  out.nonfinite_parameters = io::check_loaded_weights(path, out.model->params(), options.allow_nonfinite);
  return out;
}

void save_model(const std::string& path, Model& model) {
  io::CheckpointInfo info;
  info.model_kind = model.kind();
  info.config_json = io::config_to_json(model.config());
  info.metadata = model.metadata();
  io::save_checkpoint(path, model.params(), info);
}

}  // namespace loom::runtime
