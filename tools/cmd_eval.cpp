// `loom eval`: scores a checkpoint of any model on a data file of its kind
// (the kind is read from the checkpoint). Every model gets the
// teacher-forced loss, perplexity and its own metrics (runtime::Model::
// metrics, e.g. bits per character); the translator gets the full report
// below. For the translator, on a `source<TAB>target` file: loss,
// perplexity and token accuracy are teacher-forced (Seq2Seq::evaluate_batch on
// batches in file order, over every non-pad target token, <eos> included);
// corpus BLEU-4 decodes the sources (all, or the first --bleu-limit) and
// compares the output words with the reference's words as the tokenizer
// splits them, so a reference word the vocabulary lacks can never be matched.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <iostream>
#include <string>
#include <vector>

#include "io/checkpoint.hpp"
#include "models/seq2seq/bleu.hpp"
#include "models/seq2seq/decode.hpp"
#include "models/seq2seq/model_io.hpp"
#include "runtime/model_family.hpp"
#include "text/tokenizer.hpp"
#include "tools/commands.hpp"
#include "tools/model_loading.hpp"
#include "tools/option_checks.hpp"

namespace loom::cli {
namespace po = boost::program_options;

namespace {

constexpr std::string_view kCommand = "eval";

struct EvalOptions {
  std::string checkpoint, data;
  int64_t batch = 32;
  int64_t beam = 1;
  int64_t bleu_limit = 0;  // 0: every pair
  int threads = 0;
  bool allow_nonfinite = false;
};

std::string description() {
  return "Evaluates a checkpoint on a data file of its model's kind (the kind is read from\n"
         "the checkpoint): teacher-forced loss, perplexity and the model's own metrics.\n"
         "For a translator, on a tab-separated file of `source<TAB>target` lines:\n"
         "teacher-forced loss (nats per target token), perplexity and token accuracy over\n"
         "every target token and <eos>, then corpus BLEU-4 (0-100, unsmoothed) of the\n"
         "decoded sources against the targets. Exit status 1 on an unreadable checkpoint\n"
         "or data file, on weights holding NaN or infinity (unless --allow-nonfinite),\n"
         "and on a loss that is not finite.";
}

std::string fixed(double value, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  return buf;
}

// Σ over unshuffled batches of evaluate_batch's loss, tokens and hits.
models::seq2seq::EvalResult teacher_forced(models::seq2seq::Seq2Seq& model, const std::vector<text::EncodedPair>& pairs,
                                  int64_t batch_size) {
  models::seq2seq::Batcher batcher(pairs, {.batch_size = batch_size, .shuffle = false});
  models::seq2seq::EvalResult total;
  for (const models::seq2seq::Batch& batch : batcher.epoch(0)) total += model.evaluate_batch(batch);
  return total;
}

// Decodes the first `count` sources; the n-gram counts against their targets.
models::seq2seq::BleuStats decoded_bleu_stats(models::seq2seq::LoadedModel& loaded, const std::vector<text::EncodedPair>& pairs,
                                     const std::vector<models::seq2seq::Tokens>& references, size_t count, int64_t beam) {
  models::seq2seq::Decoder decoder(*loaded.model);
  models::seq2seq::BleuStats stats;
  for (size_t i = 0; i < count; ++i) {
    models::seq2seq::Translation best =
        beam == 1 ? decoder.greedy(pairs[i].source) : decoder.beam_search(pairs[i].source, beam).front();
    stats.add(loaded.target_vocab.decode(best.tokens), references[i]);
  }
  return stats;
}

void print_report(const EvalOptions& o, size_t num_pairs, const models::seq2seq::EvalResult& forced, size_t bleu_count,
                  const models::seq2seq::BleuStats& stats) {
  const models::seq2seq::BleuScore bleu = models::seq2seq::bleu_from_stats(stats);
  std::cout << "data:           " << o.data << " (" << num_pairs << " pairs, " << forced.tokens
            << " target tokens with <eos>)\n"
            << "loss:           " << fixed(forced.loss(), 4) << " nats/token (teacher-forced)\n"
            << "perplexity:     " << fixed(runtime::perplexity(forced.loss()), 3) << "\n"
            << "token accuracy: " << fixed(forced.accuracy(), 4) << " (" << forced.correct << "/" << forced.tokens
            << ", teacher-forced)\n"
            << "BLEU-4:         " << fixed(bleu.bleu, 2) << " (" << bleu_count << " sentences, "
            << (o.beam == 1 ? std::string("greedy") : "beam " + std::to_string(o.beam)) << ")\n"
            << "  precisions:   ";
  for (size_t n = 0; n < 4; ++n) std::cout << (n ? " / " : "") << fixed(100 * bleu.precisions[n], 1);
  std::cout << "  brevity penalty " << fixed(bleu.brevity_penalty, 3) << "  (output " << bleu.hypothesis_length
            << " words, reference " << bleu.reference_length << ")\n";
  // Unsmoothed BLEU-4 is 0 without a matching 4-gram; say so rather than leave a bare 0.
  if (stats.hypothesis_length > 0 && stats.totals[3] == 0)
    std::cout << "  note: no output has 4 or more words, so BLEU-4 is 0 by definition\n";
  else if (stats.totals[3] > 0 && stats.matches[3] == 0)
    std::cout << "  note: no 4-gram of the outputs is in its reference, so BLEU-4 is 0\n";
}

// Any model but the translator: loss, perplexity and its metrics over the
// file's examples in order.
int evaluate_generic(const EvalOptions& o, const std::string& kind) {
  runtime::LoadedModel loaded = runtime::load_model(o.checkpoint, {.allow_nonfinite = o.allow_nonfinite});
  const runtime::ModelFamily family = runtime::model_registry().make(kind);
  runtime::RunRequest request;
  for (const runtime::OptionSpec& spec : family.options) request.options[spec.name] = spec.default_value;
  for (const auto& [key, value] : loaded.model->config()) request.options[key] = value;
  request.batch_size = o.batch;
  const std::unique_ptr<runtime::Dataset> data = family.open_data(*loaded.model, o.data, request, false);
  const runtime::Evaluation total = runtime::evaluate_dataset(*loaded.model, *data);
  std::cout << "data:           " << data->describe() << " (" << total.tokens << " tokens)\n"
            << "loss:           " << fixed(total.loss(), 4) << " nats/token (teacher-forced)\n"
            << "perplexity:     " << fixed(runtime::perplexity(total.loss()), 3) << "\n";
  for (const runtime::Metric& m : loaded.model->metrics(total, *data, true)) std::cout << m.text << "\n";
  if (!std::isfinite(total.loss())) {
    std::cerr << "loom " << kCommand << ": the loss on " << o.data << " is not finite (" << total.loss() << ")\n";
    return kExitFailure;
  }
  return kExitOk;
}

// The checkpoint's model kind, or "" after reporting why it cannot be read.
std::string checkpoint_kind(const std::string& path) {
  try {
    return runtime::checkpoint_model_kind(io::read_checkpoint_info(path));
  } catch (const std::exception& e) {
    std::cerr << "loom " << kCommand << ": " << e.what() << "\n";
    return "";
  }
}

}  // namespace

int run_eval(const Args& args) {
  EvalOptions o;
  po::options_description opts("options");
  opts.add_options()
      ("help,h", "print this help and exit")
      ("checkpoint", po::value<std::string>(&o.checkpoint)->value_name("FILE"), "model checkpoint (required)")
      ("data", po::value<std::string>(&o.data)->value_name("FILE.tsv"), "source<TAB>target pairs (required)")
      ("batch", po::value<int64_t>(&o.batch)->value_name("N")->default_value(o.batch)
           ->notifier(in_range<int64_t>("batch", 1, 65536)),
       "pairs per teacher-forced batch")
      ("beam", po::value<int64_t>(&o.beam)->value_name("K")->default_value(o.beam)
           ->notifier(in_range<int64_t>("beam", 1, kMaxBeam)),
       "beam width for the BLEU decoding; 1 decodes greedily")
      ("bleu-limit", po::value<int64_t>(&o.bleu_limit)->value_name("N")->default_value(o.bleu_limit)
           ->notifier(at_least<int64_t>("bleu-limit", 0)),
       "decode only the first N sources for BLEU; 0 decodes all")
      ("threads", po::value<int>(&o.threads)->value_name("N")->default_value(o.threads)
           ->notifier(in_range("threads", 0, kMaxThreads)),
       "OpenMP threads; 0 keeps OpenMP's default (OMP_NUM_THREADS or all cores)");
  add_allow_nonfinite_option(opts, o.allow_nonfinite);
  po::variables_map vm;
  const std::string text = description();
  if (!parse_command_line(args, kCommand, text, opts, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_command_help(std::cout, kCommand, text, opts);
    return kExitOk;
  }
  std::string error;
  if (o.checkpoint.empty() || o.data.empty()) error = "--checkpoint and --data are required";
  if (!error.empty()) {
    std::cerr << "loom " << kCommand << ": " << error << "\n\n";
    print_command_help(std::cerr, kCommand, text, opts);
    return kExitUsage;
  }
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const std::string kind = checkpoint_kind(o.checkpoint);
  if (kind.empty()) return kExitFailure;
  if (kind != models::seq2seq::kSeq2SeqKind) {
    try {
      return evaluate_generic(o, kind);
    } catch (const std::exception& e) {
      std::cerr << "loom " << kCommand << ": " << e.what() << "\n";
      return kExitFailure;
    }
  }

  std::optional<models::seq2seq::LoadedModel> model = load_model_or_report(kCommand, o.checkpoint, o.allow_nonfinite);
  if (!model) return kExitFailure;
  models::seq2seq::LoadedModel& loaded = *model;
  text::TokenizedCorpus corpus;
  try {
    corpus = text::tokenize_pairs(text::read_tsv(o.data), o.data);  // errors name file:line
  } catch (const text::TextError& e) {
    std::cerr << "loom " << kCommand << ": " << e.what() << "\n";
    return kExitFailure;
  }
  if (corpus.sources.empty()) {
    std::cerr << "loom " << kCommand << ": " << o.data << " holds no pairs\n";
    return kExitFailure;
  }
  std::vector<text::EncodedPair> pairs = text::encode_pairs(corpus, loaded.source_vocab, loaded.target_vocab);
  models::seq2seq::EvalResult forced = teacher_forced(*loaded.model, pairs, o.batch);
  size_t bleu_count = o.bleu_limit == 0 ? pairs.size() : std::min(pairs.size(), size_t(o.bleu_limit));
  models::seq2seq::BleuStats bleu = decoded_bleu_stats(loaded, pairs, corpus.targets, bleu_count, o.beam);
  print_report(o, pairs.size(), forced, bleu_count, bleu);
  // A loss that is not a number is a failed evaluation, never a result.
  if (!std::isfinite(forced.loss())) {
    std::cerr << "loom " << kCommand << ": the loss on " << o.data << " is not finite (" << forced.loss() << ")\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace loom::cli
