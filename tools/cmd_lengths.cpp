// `loom lengths`: sequence accuracy by source length for one or more
// checkpoints on the same data (the copy / reverse long-dependency task), as a
// Markdown table on stdout and, with --svg, a line chart. This is how
// docs/RESULTS.md compares attention with the no-attention baseline.
#include <omp.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "models/seq2seq/decode.hpp"
#include "models/seq2seq/model_io.hpp"
#include "train/svg_plot.hpp"
#include "text/corpus.hpp"
#include "tools/commands.hpp"
#include "tools/option_checks.hpp"

namespace loom::cli {
namespace po = boost::program_options;

namespace {

struct Accuracy {
  int64_t right = 0, total = 0;
  double percent() const { return total ? 100.0 * double(right) / double(total) : 0.0; }
};

// bucket (first length of a `width`-wide bucket) → exact-match accuracy.
std::map<int64_t, Accuracy> accuracy_by_length(const std::string& checkpoint, const text::TokenizedCorpus& corpus,
                                               int64_t width) {
  models::seq2seq::LoadedModel m = models::seq2seq::load_model(checkpoint);
  models::seq2seq::Decoder decoder(*m.model);
  std::map<int64_t, Accuracy> buckets;
  for (size_t i = 0; i < corpus.sources.size(); ++i) {
    const auto& source = corpus.sources[i];
    models::seq2seq::Translation t = decoder.greedy(m.source_vocab.encode(source));
    Accuracy& a = buckets[int64_t(source.size()) / width * width];
    a.right += m.target_vocab.decode(t.tokens) == corpus.targets[i];
    ++a.total;
  }
  return buckets;
}

}  // namespace

int run_lengths(const Args& args) {
  std::vector<std::string> checkpoints, labels;
  std::string data, svg;
  int64_t width = 5;
  int threads = 0;
  po::options_description opts("options");
  opts.add_options()("help,h", "print this help and exit")(
      "checkpoint", po::value(&checkpoints)->required(), "a checkpoint (repeat to compare several)")(
      "label", po::value(&labels), "a name per checkpoint for the table and chart (default: the path)")(
      "data", po::value(&data)->required(), "source<TAB>target pairs")(
      "width", po::value(&width)->default_value(width)->notifier(at_least<decltype(width)>("width", 1)), "source lengths per bucket")(
      "svg", po::value(&svg), "also draw the accuracies as a line chart (default: none)")(
      "threads", po::value(&threads)->default_value(0)->notifier(in_range("threads", 0, kMaxThreads)), "OpenMP threads (0 = all cores)");
  std::string text =
      "Decodes every source greedily with each checkpoint and reports the share of\n"
      "outputs that equal their target exactly, by source length (in tokens).";
  po::variables_map vm;
  if (std::find(args.begin(), args.end(), "--help") != args.end() ||
      std::find(args.begin(), args.end(), "-h") != args.end()) {
    print_command_help(std::cout, "lengths", text, opts);
    return kExitOk;
  }
  if (!parse_command_line(args, "lengths", text, opts, vm)) return kExitUsage;
  if (width < 1 || (!labels.empty() && labels.size() != checkpoints.size())) {
    std::cerr << "loom lengths: --width must be >= 1 and --label given once per --checkpoint\n";
    return kExitUsage;
  }
  if (labels.empty()) labels = checkpoints;
  if (threads > 0) omp_set_num_threads(threads);
  try {
    // Once, before any checkpoint loads; errors name the file and line.
    const text::TokenizedCorpus corpus = text::tokenize_pairs(text::read_tsv(data), data);
    std::vector<std::map<int64_t, Accuracy>> results;
    for (const std::string& c : checkpoints) results.push_back(accuracy_by_length(c, corpus, width));
    std::cout << "| source length |";
    for (const std::string& l : labels) std::cout << " " << l << " |";
    std::cout << "\n|---|";
    for (size_t k = 0; k < labels.size(); ++k) std::cout << "---|";
    std::cout << "\n";
    std::vector<train::PlotSeries> series(labels.size());
    for (const auto& [bucket, _] : results[0]) {
      std::cout << "| " << bucket << "–" << bucket + width - 1 << " |";
      for (size_t k = 0; k < results.size(); ++k) {
        const Accuracy& a = results[k][bucket];
        char cell[48];
        std::snprintf(cell, sizeof cell, " %.1f%% (%lld) |", a.percent(), (long long)a.total);
        std::cout << cell;
        series[k].name = labels[k];
        series[k].points.emplace_back(double(bucket) + double(width - 1) / 2, a.percent());
      }
      std::cout << "\n";
    }
    if (!svg.empty()) {
      train::line_chart(svg, "Sequence accuracy by source length", "source length (tokens)", "exact matches (%)",
                         series);
      std::cerr << "wrote " << svg << "\n";
    }
    return kExitOk;
  } catch (const std::exception& e) {
    std::cerr << "loom lengths: " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace loom::cli
