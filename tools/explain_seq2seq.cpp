#include "tools/explain_seq2seq.hpp"

#include <fstream>
#include <ostream>
#include <stdexcept>

#include "models/seq2seq/decode.hpp"
#include "models/seq2seq/seq2seq.hpp"

namespace loom::cli {
namespace {

void write_dot(const std::string& path, const Plan& plan, std::ostream& out) {
  std::ofstream file(path);
  file << plan.dot();
  file.close();
  if (!file) throw std::runtime_error("cannot write " + path);
  out << "wrote " << path << "\n";
}

// "out/plan.dot" -> "out/plan.step.dot"; any other name gets ".step.dot" appended.
std::string step_dot_path(const std::string& path) {
  const std::string ext = ".dot";
  bool has_ext = path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
  return (has_ext ? path.substr(0, path.size() - ext.size()) : path) + ".step.dot";
}

}  // namespace

void explain_seq2seq(const Seq2SeqExplainSizes& z, const std::string& dot_path, std::ostream& out) {
  for (int64_t v : {z.batch, z.src_len, z.tgt_len, z.beam})
    if (v < 1) throw std::invalid_argument("--batch, --src-len, --tgt-len and --beam must be at least 1");
  models::seq2seq::Seq2SeqConfig config;
  config.src_vocab = config.tgt_vocab = z.vocab;
  config.embed = z.embed;
  config.hidden = z.hidden;
  config.layers = z.layers;
  config.attention = z.attention;
  const models::seq2seq::Seq2Seq model(config);  // checks the sizes and the attention kind

  Plan training = model.training_plan(z.batch, z.src_len, z.tgt_len);
  out << "== training step: B=" << z.batch << " S=" << z.src_len << " T=" << z.tgt_len << ", E=" << z.embed
      << " H=" << z.hidden << " L=" << z.layers << " V=" << z.vocab << ", attention " << z.attention
      << "; fetches the loss and " << model.params().entries().size() << " gradients\n"
      << training.explain();
  Plan step = models::seq2seq::compile_decoder_step_plan(model, z.beam, z.src_len);
  out << "\n== decoding step: K=" << z.beam << " rows (the beam), S=" << z.src_len
      << "; fetches log-probs, each layer's (h, c) and the attention weights\n"
      << step.explain();
  if (dot_path.empty()) return;
  write_dot(dot_path, training, out);
  write_dot(step_dot_path(dot_path), step, out);
}

}  // namespace loom::cli
