// The `loom` command's subcommands. Each lives in its own tools/cmd_<name>.cpp
// and parses its own options (Boost.Program_options); loom_main.cpp only
// dispatches. A subcommand receives the arguments after its name and returns
// the process exit status: kExitOk, kExitFailure (a check failed) or
// kExitUsage (bad options or an unknown name).
#pragma once
#include <boost/program_options.hpp>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace loom::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

using Args = std::vector<std::string>;

struct Command {
  std::string_view name;
  std::string_view summary;  // one line for `loom --help`
  int (*run)(const Args& args);
};

// Prints "usage: loom <command> [options]", the description and every option
// with its default.
void print_command_help(std::ostream& os, std::string_view command, std::string_view description,
                        const boost::program_options::options_description& options);

// Parses args into vm. On a bad or unknown option prints the reason and the
// command's help to stderr and returns false (the caller exits kExitUsage).
bool parse_command_line(const Args& args, std::string_view command, std::string_view description,
                        const boost::program_options::options_description& options,
                        boost::program_options::variables_map& vm);

int run_gradcheck(const Args& args);  // tools/cmd_gradcheck.cpp
int run_explain(const Args& args);    // tools/cmd_explain.cpp
int run_train(const Args& args);      // tools/cmd_train.cpp
int run_bench(const Args& args);      // tools/cmd_bench.cpp
int run_translate(const Args& args);  // tools/cmd_translate.cpp
int run_eval(const Args& args);       // tools/cmd_eval.cpp
int run_lengths(const Args& args);    // tools/cmd_lengths.cpp
int run_generate(const Args& args);   // tools/cmd_generate.cpp

}  // namespace loom::cli
