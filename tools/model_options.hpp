// A model family's options (runtime::OptionSpec, data) as Boost program
// options: each becomes --NAME with its default and help, checked in the
// notify step like every other option (exit 2 with the reason), and its value
// collected as text for the family. Also picks the family a command line
// means: --model NAME, or the kind of the checkpoint it resumes or reads.
#pragma once
#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "runtime/model_family.hpp"
#include "tools/commands.hpp"

namespace loom::cli {

// Adds the family's options to `d`, writing their values into `values`
// (defaults first, so every option has one).
void add_family_options(boost::program_options::options_description& d, const runtime::ModelFamily& family,
                        runtime::OptionValues& values);

// The family options the command line set explicitly.
std::vector<std::string> explicit_family_options(const runtime::ModelFamily& family,
                                                 const boost::program_options::variables_map& vm);

// The value of `--NAME VALUE` or `--NAME=VALUE` in args, or "" (a first
// look, before the full parse knows which options exist).
std::string peek_option(const Args& args, const std::string& name);

// "  lm        the LSTM language model ..." for every registered model.
std::string model_list();

}  // namespace loom::cli
