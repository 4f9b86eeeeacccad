// `loom explain --model seq2seq`: the translator's compiled plans for given
// sizes, as a training run and a beam search would compile them.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>

namespace loom::cli {

struct Seq2SeqExplainSizes {
  int64_t batch = 16, src_len = 12, tgt_len = 12;  // the training batch (B, S, T)
  int64_t embed = 32, hidden = 64, layers = 1;     // E, H, L
  int64_t vocab = 1000;                            // Vs = Vt
  int64_t beam = 5;                                // rows K of a decoding step
  std::string attention = "dot";
};

// Prints the training step's plan (forward, loss, every gradient) and one
// decoding step's plan; with a dot_path also writes them for Graphviz to
// dot_path and to its ".step.dot" twin. Throws std::invalid_argument for bad
// sizes or an unknown attention kind, std::runtime_error for an unwritable file.
void explain_seq2seq(const Seq2SeqExplainSizes& sizes, const std::string& dot_path, std::ostream& out);

}  // namespace loom::cli
