// `loom translate`: loads a checkpoint (io/model_io.hpp) and translates
// sentences given as arguments, or one per line from stdin when none are
// given, printing one detokenized translation per line. One Decoder serves
// every sentence, so its compiled encoder and step plans are reused across
// sentences of the same length. --attention FILE.svg draws the first
// sentence's attention weights as a heatmap (rows: output words; columns:
// source words and <eos>). Unlike the other commands, stray words are the
// input here, so this file parses its own command line.
#include <omp.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "models/seq2seq/decode.hpp"
#include "models/seq2seq/model_io.hpp"
#include "train/svg_plot.hpp"
#include "text/tokenizer.hpp"
#include "tools/commands.hpp"
#include "tools/model_loading.hpp"
#include "tools/option_checks.hpp"

namespace loom::cli {
namespace po = boost::program_options;

namespace {

constexpr std::string_view kCommand = "translate";

struct TranslateOptions {
  std::string checkpoint;
  int64_t beam = 1;
  int64_t max_length = 0;  // 0: the decoder's own limit, 2·S + 10
  std::string attention_svg;
  int threads = 0;         // 0: OpenMP's default
  bool allow_nonfinite = false;
  std::vector<std::string> sentences;
};

std::string description() {
  return "Arguments: [SENTENCE...]\n\n"
         "Translates each SENTENCE with the model in a checkpoint written by training\n"
         "(io/model_io.hpp), one translation per line. With no SENTENCE, reads one\n"
         "sentence per line from stdin (a blank line gives a blank line). Words the\n"
         "source vocabulary lacks become <unk>. Quote a sentence to keep it one argument:\n"
         "  loom translate --checkpoint model.safetensors \"the white house\" \"thank you\"\n\n"
         "Decoding is not a plain argmax over the logits: <pad> and <bos> are never\n"
         "emitted (the model is never trained to predict them), so greedy decoding takes\n"
         "the best of the other ids and stops at <eos> or the length limit. A beam\n"
         "(--beam K) ranks hypotheses by log-probability per scored token. docs/MODEL.md,\n"
         "Decoding, has the details.";
}

// Parses args, SENTENCE words included. Returns nullopt after printing the
// reason and the help to stderr, or the help to stdout (help_shown is set).
std::optional<TranslateOptions> parse_options(const Args& args, bool& help_shown) {
  TranslateOptions o;
  po::options_description opts("options");
  opts.add_options()
      ("help,h", "print this help and exit")
      ("checkpoint", po::value<std::string>(&o.checkpoint)->value_name("FILE")->required(),
       "model checkpoint to translate with (required)")
      ("beam", po::value<int64_t>(&o.beam)->value_name("K")->default_value(o.beam)
           ->notifier(in_range<int64_t>("beam", 1, kMaxBeam)),
       "beam width; 1 decodes greedily")
      ("max-length", po::value<int64_t>(&o.max_length)->value_name("N")->default_value(o.max_length)
           ->notifier(in_range<int64_t>("max-length", 0, kMaxOutputLength)),
       "most output words per sentence; 0 means 2 x (source words + 1) + 10")
      ("attention", po::value<std::string>(&o.attention_svg)->value_name("FILE.svg"),
       "also write the first translation's attention weights as an SVG heatmap (default: none)")
      ("threads", po::value<int>(&o.threads)->value_name("N")->default_value(o.threads)
           ->notifier(in_range("threads", 0, kMaxThreads)),
       "OpenMP threads; 0 keeps OpenMP's default (OMP_NUM_THREADS or all cores)");
  add_allow_nonfinite_option(opts, o.allow_nonfinite);
  po::options_description all;
  all.add(opts).add_options()("sentence", po::value<std::vector<std::string>>(&o.sentences));
  po::positional_options_description positional;
  positional.add("sentence", -1);

  const std::string text = description();
  std::string error;
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    if (vm.count("help")) {
      print_command_help(std::cout, kCommand, text, opts);
      help_shown = true;
      return std::nullopt;
    }
    po::notify(vm);  // after --help, so that `--help` alone needs no --checkpoint
  } catch (const po::error& e) {
    error = e.what();
  }
  if (error.empty()) return o;
  std::cerr << "loom " << kCommand << ": " << error << "\n\n";
  print_command_help(std::cerr, kCommand, text, opts);
  return std::nullopt;
}

// The model's best translation of one tokenized sentence.
models::seq2seq::Translation translate_one(models::seq2seq::Decoder& decoder, const std::vector<int32_t>& source,
                                  const TranslateOptions& o) {
  if (o.beam == 1) return decoder.greedy(source, o.max_length);
  return decoder.beam_search(source, o.beam, o.max_length).front();
}

// Column labels: what the model saw, so an unknown word reads "<unk> (word)".
std::vector<std::string> source_labels(const std::vector<std::string>& words, const text::Vocabulary& vocab) {
  std::vector<std::string> labels;
  for (const std::string& w : words) labels.push_back(vocab.contains(w) ? w : "<unk> (" + w + ")");
  labels.push_back("<eos>");
  return labels;
}

// Writes translation.attention (n,S) as a heatmap; returns false after
// printing why it cannot.
bool write_attention(const std::string& path, const std::string& sentence, const std::vector<std::string>& words,
                     const models::seq2seq::Translation& translation, const models::seq2seq::LoadedModel& loaded) {
  const Tensor& a = translation.attention;
  if (a.shape().rank() != 2) {
    std::cerr << "loom " << kCommand << ": --attention: this model has no attention layer (attention '"
              << loaded.model->config().attention << "')\n";
    return false;
  }
  if (translation.tokens.empty()) {
    std::cerr << "loom " << kCommand << ": --attention: the translation of \"" << sentence
              << "\" is empty; there is no attention to draw\n";
    return false;
  }
  const int64_t rows = a.shape()[0], columns = a.shape()[1];
  std::vector<std::string> row_labels;
  for (int32_t id : translation.tokens) row_labels.push_back(loaded.target_vocab.token(id));
  std::vector<std::vector<double>> weights(size_t(rows), std::vector<double>(size_t(columns), 0.0));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < columns; ++c)  // softmax in f32 may round a hair past 1
      weights[size_t(r)][size_t(c)] = std::clamp(a.at(r * columns + c), 0.0, 1.0);
  try {
    train::heatmap(path, "attention: " + sentence, row_labels, source_labels(words, loaded.source_vocab), weights);
  } catch (const train::PlotError& e) {
    std::cerr << "loom " << kCommand << ": --attention: " << e.what() << "\n";
    return false;
  }
  std::cerr << "wrote " << path << "\n";
  return true;
}

// Translates each sentence as it arrives (stdin may be interactive) and
// returns the exit status: a sentence that cannot be read (invalid UTF-8)
// prints a message and a blank line, and the rest are still translated.
int translate_all(const TranslateOptions& o, models::seq2seq::LoadedModel& loaded) {
  models::seq2seq::Decoder decoder(*loaded.model);
  const bool from_stdin = o.sentences.empty();
  int status = kExitOk;
  bool attention_pending = !o.attention_svg.empty();
  std::string sentence;
  for (size_t index = 0;; ++index) {
    if (from_stdin) {
      if (!std::getline(std::cin, sentence)) break;
      if (!sentence.empty() && sentence.back() == '\r') sentence.pop_back();
    } else {
      if (index == o.sentences.size()) break;
      sentence = o.sentences[index];
    }
    std::vector<std::string> words;
    try {
      words = text::tokenize(sentence);
    } catch (const text::TextError& e) {
      std::cerr << "loom " << kCommand << ": " << (from_stdin ? "line " : "sentence ") << index + 1 << ": "
                << e.what() << "\n";
      std::cout << std::endl;
      status = kExitFailure;
      continue;
    }
    if (words.empty()) {
      std::cout << std::endl;
      continue;
    }
    models::seq2seq::Translation best = translate_one(decoder, loaded.source_vocab.encode(words), o);
    std::cout << text::join_tokens(loaded.target_vocab.decode(best.tokens)) << std::endl;
    if (attention_pending) {
      attention_pending = false;
      if (!write_attention(o.attention_svg, sentence, words, best, loaded)) status = kExitFailure;
    }
  }
  if (attention_pending) {
    std::cerr << "loom " << kCommand << ": --attention: no sentence was translated\n";
    status = kExitFailure;
  }
  return status;
}

}  // namespace

int run_translate(const Args& args) {
  bool help_shown = false;
  std::optional<TranslateOptions> options = parse_options(args, help_shown);
  if (!options) return help_shown ? kExitOk : kExitUsage;
  if (options->threads > 0) omp_set_num_threads(options->threads);
  std::optional<models::seq2seq::LoadedModel> loaded =
      load_model_or_report(kCommand, options->checkpoint, options->allow_nonfinite);
  if (!loaded) return kExitFailure;
  return translate_all(*options, *loaded);
}

}  // namespace loom::cli
