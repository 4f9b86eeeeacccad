#include "tools/model_options.hpp"

#include "tools/option_checks.hpp"

namespace loom::cli {
namespace po = boost::program_options;

void add_family_options(po::options_description& d, const runtime::ModelFamily& family,
                        runtime::OptionValues& values) {
  for (const runtime::OptionSpec& spec : family.options) {
    values[spec.name] = spec.default_value;
    std::string* target = &values[spec.name];
    d.add_options()(spec.name.c_str(),
                    po::value<std::string>(target)->default_value(spec.default_value)->notifier(
                        [spec](const std::string& text) {
                          if (std::string why = runtime::check_option(spec, text); !why.empty())
                            throw OptionRangeError(why);
                        }),
                    spec.help.c_str());
  }
}

std::vector<std::string> explicit_family_options(const runtime::ModelFamily& family, const po::variables_map& vm) {
  std::vector<std::string> given;
  for (const runtime::OptionSpec& spec : family.options)
    if (vm.count(spec.name) && !vm[spec.name].defaulted()) given.push_back(spec.name);
  return given;
}

std::string peek_option(const Args& args, const std::string& name) {
  const std::string flag = "--" + name;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag && i + 1 < args.size()) return args[i + 1];
    if (args[i].rfind(flag + "=", 0) == 0) return args[i].substr(flag.size() + 1);
  }
  return "";
}

std::string model_list() { return runtime::model_registry().help_lines(); }

}  // namespace loom::cli
