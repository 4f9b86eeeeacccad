// The `loom` command: `loom <command> [options]`. This file only dispatches:
// each command lives in tools/cmd_<name>.cpp (see tools/commands.hpp).
// Every extension point is filled by explicit calls at start-up: the
// built-in models (models/register_models.hpp) and the examples written as a
// user would (examples/register_examples.hpp: an op, attention kinds, an
// optimiser, a model). A program of one's own does the same for its ops,
// layers and models.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

#include "examples/register_examples.hpp"
#include "models/register_models.hpp"
#include "ops/openmp_environment.hpp"
#include "ops/openmp_waiting.hpp"
#include "tools/commands.hpp"
#include "tools/option_checks.hpp"

namespace loom::cli {
namespace po = boost::program_options;

namespace {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"gradcheck", "check ops' analytic gradients against finite differences (f64)", run_gradcheck},
      {"explain", "compile a demo graph or the translator and print its plans (and DOT)", run_explain},
      {"train", "train a model (--model NAME; the attention translator by default)", run_train},
      {"bench", "time the translator's training step on a benchmark configuration (--profile: per step)", run_bench},
      {"translate", "translate sentences (arguments or stdin lines) with a checkpoint", run_translate},
      {"generate", "continue a prompt with a language model checkpoint (sampling or greedy)", run_generate},
      {"eval", "score a checkpoint on a TSV file: loss, perplexity, accuracy, BLEU-4", run_eval},
      {"lengths", "sequence accuracy by source length for one or more checkpoints", run_lengths},
  };
  return table;
}

void print_usage(std::ostream& os) {
  os << "usage: loom <command> [options]\n"
        "       loom <command> --help     options of one command, with their defaults\n"
        "       loom --help               this message\n\n"
        "commands:\n";
  for (const Command& c : commands()) {
    std::string name(c.name);
    name.resize(12, ' ');
    os << "  " << name << c.summary << "\n";
  }
  os << "\nexit status: 0 success, 1 a check failed or an error occurred, 2 bad command line\n";
}

const Command* find_command(std::string_view name) {
  for (const Command& c : commands())
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace

void print_command_help(std::ostream& os, std::string_view command, std::string_view description,
                        const po::options_description& options) {
  os << "usage: loom " << command << " [options]\n\n" << description << "\n\n" << options << "\n";
}

bool parse_command_line(const Args& args, std::string_view command, std::string_view description,
                        const po::options_description& options, po::variables_map& vm) {
  // Words that are not options are collected here and refused, so that
  // `loom gradcheck swish` says what is wrong instead of being ignored.
  po::options_description with_stray;
  with_stray.add(options).add_options()("stray-arguments", po::value<std::vector<std::string>>());
  po::positional_options_description stray;
  stray.add("stray-arguments", -1);
  std::string error;
  try {
    po::store(po::command_line_parser(args).options(with_stray).positional(stray).run(), vm);
    po::notify(vm);
    if (vm.count("stray-arguments"))
      error = "unexpected argument '" + vm["stray-arguments"].as<std::vector<std::string>>().front() +
              "' (options start with --)";
  } catch (const po::error& e) {
    error = e.what();
  }
  if (error.empty()) return true;
  std::cerr << "loom " << command << ": " << error << "\n\n";
  print_command_help(std::cerr, command, description, options);
  return false;
}

int main_dispatch(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "loom: no command given\n\n";
    print_usage(std::cerr);
    return kExitUsage;
  }
  std::string_view first = argv[1];
  if (first == "help" && argc > 2) first = argv[2];  // `loom help explain` = `loom explain --help`
  else if (first == "-h" || first == "--help" || first == "help") {
    print_usage(std::cout);
    return kExitOk;
  }
  const Command* command = find_command(first);
  if (!command) {
    std::cerr << "loom: unknown command '" << first << "'\n\n";
    print_usage(std::cerr);
    return kExitUsage;
  }
  if (first != argv[1]) return command->run({"--help"});
  return command->run(Args(argv + 2, argv + argc));
}

}  // namespace loom::cli

int main(int argc, char** argv) {
  // Before anything can run a parallel region: an absurd thread count is
  // refused like an absurd --threads, not met with a crash.
  if (std::string problem = loom::openmp_num_threads_problem(std::getenv("OMP_NUM_THREADS"), loom::cli::kMaxThreads);
      !problem.empty()) {
    std::fprintf(stderr, "loom: %s\n", problem.c_str());
    return loom::cli::kExitUsage;
  }
  loom::prefer_passive_openmp_waiting(argv);
  try {
    loom::models::register_builtin_models();
    loom::examples::register_examples();
    return loom::cli::main_dispatch(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loom: error: %s\n", e.what());
    return loom::cli::kExitFailure;
  }
}
