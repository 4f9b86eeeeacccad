// `loom generate`: continues a prompt with a language model's checkpoint
// (models/lm/generator.hpp): the prompt is tokenised with the model's unit,
// run through the LSTM from zero states after <bos>, and up to --max-tokens
// tokens are drawn at --temperature among the --top-k most likely, from
// --seed, stopping at <eos>. Prints the prompt and its continuation on one
// line. A checkpoint of another kind (a translator) is a usage error.
#include <omp.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <string>

#include "io/checkpoint.hpp"
#include "models/lm/family.hpp"
#include "models/lm/generator.hpp"
#include "runtime/model_family.hpp"
#include "text/tokenizer.hpp"
#include "tools/commands.hpp"
#include "tools/option_checks.hpp"

namespace loom::cli {
namespace po = boost::program_options;

namespace {

constexpr std::string_view kCommand = "generate";
constexpr int64_t kMaxGeneratedTokens = 100000;
constexpr double kMaxTemperature = 1000;

struct GenerateCommandOptions {
  std::string checkpoint, prompt;
  models::lm::GenerateOptions generate;
  int64_t seed = 1;  // signed here so that "-1" is refused rather than wrapped
  int threads = 0;
};

std::string description() {
  return "Continues --prompt with a language model checkpoint (`loom train --model lm`):\n"
         "the prompt is tokenised as the model was trained (words, lower-cased, or\n"
         "characters), then tokens are drawn one at a time from softmax(logits / T) over\n"
         "the --top-k most likely, never <pad> or <bos>, until <eos> or --max-tokens.\n"
         "--temperature 0 takes the most likely token at every step (greedy); the same\n"
         "--seed gives the same text. docs/MODEL.md, The language model, has the rules.\n"
         "  loom generate --checkpoint runs/kjv/model.safetensors --prompt \"And God said\"";
}

po::options_description option_table(GenerateCommandOptions& o) {
  po::options_description opts("options");
  opts.add_options()
      ("help,h", "print this help and exit")
      ("checkpoint", po::value<std::string>(&o.checkpoint)->value_name("FILE")->required(),
       "language model checkpoint (required)")
      ("prompt", po::value<std::string>(&o.prompt)->value_name("TEXT")->default_value(o.prompt),
       "text to continue; empty starts a new line")
      ("max-tokens", po::value<int64_t>(&o.generate.max_tokens)->value_name("N")->default_value(o.generate.max_tokens)
           ->notifier(in_range<int64_t>("max-tokens", 1, kMaxGeneratedTokens)),
       "most tokens drawn (<eos> ends earlier)")
      ("temperature", po::value<double>(&o.generate.temperature)->value_name("T")
           ->default_value(o.generate.temperature, "1")
           ->notifier(in_range<double>("temperature", 0.0, kMaxTemperature)),
       "divides the logits before the softmax; 0 is greedy")
      ("top-k", po::value<int64_t>(&o.generate.top_k)->value_name("K")->default_value(o.generate.top_k)
           ->notifier(at_least<int64_t>("top-k", 0)),
       "draw among the K most likely tokens; 0 = all")
      ("seed", po::value<int64_t>(&o.seed)->value_name("S")->default_value(o.seed)
           ->notifier(at_least<int64_t>("seed", 0)),
       "random seed of the draws")
      ("threads", po::value<int>(&o.threads)->value_name("N")->default_value(o.threads)
           ->notifier(in_range("threads", 0, kMaxThreads)),
       "OpenMP threads; 0 keeps OpenMP's default (OMP_NUM_THREADS or all cores)");
  return opts;
}

// The model of the checkpoint if it is a language model; otherwise the exit
// status after printing why: 2 for another kind, 1 for a file that cannot be read.
std::optional<runtime::LoadedModel> load_language_model(const std::string& path, int& status) {
  try {
    const std::string kind = runtime::checkpoint_model_kind(io::read_checkpoint_info(path));
    if (kind != models::lm::kLmKind) {
      std::cerr << "loom " << kCommand << ": --checkpoint " << path << " holds a '" << kind
                << "' model; generate needs a language model (" << models::lm::kLmKind << ")\n";
      status = kExitUsage;
      return std::nullopt;
    }
    return runtime::load_model(path);
  } catch (const std::exception& e) {
    std::cerr << "loom " << kCommand << ": " << e.what() << "\n";
    status = kExitFailure;
    return std::nullopt;
  }
}

}  // namespace

int run_generate(const Args& args) {
  GenerateCommandOptions o;
  const po::options_description opts = option_table(o);
  const std::string text = description();
  if (std::find(args.begin(), args.end(), "--help") != args.end() || std::find(args.begin(), args.end(), "-h") != args.end()) {
    print_command_help(std::cout, kCommand, text, opts);
    return kExitOk;
  }
  po::variables_map vm;
  if (!parse_command_line(args, kCommand, text, opts, vm)) return kExitUsage;
  o.generate.seed = uint64_t(o.seed);
  if (o.threads > 0) omp_set_num_threads(o.threads);
  int status = kExitOk;
  std::optional<runtime::LoadedModel> loaded = load_language_model(o.checkpoint, status);
  if (!loaded) return status;
  auto& model = dynamic_cast<models::lm::LanguageModel&>(*loaded->model);
  models::lm::Generation g;
  try {
    models::lm::Generator generator(model);
    g = generator.generate(o.prompt, o.generate);
  } catch (const text::TextError& e) {
    std::cerr << "loom " << kCommand << ": --prompt: " << e.what() << "\n";
    return kExitUsage;
  }
  const bool words = model.lm_config().unit == models::lm::Unit::Word;
  const std::string gap = words && !o.prompt.empty() && !g.text.empty() ? " " : "";
  std::cout << o.prompt << gap << g.text << std::endl;
  return kExitOk;
}

}  // namespace loom::cli
