// `loom translate` and `loom eval`, run as a user would ($LOOM_BIN, set by
// CMake). The checkpoint is made here: a small Seq2Seq trained with Adam until
// it reproduces every pair of data/toy.tsv plus a few longer pairs (so BLEU-4
// has 4-grams to count), saved with models::seq2seq::save_model into a temp directory.
// Checks: arguments and stdin lines translate to their targets, greedily and
// with a beam; --attention draws one cell per (output word, source word);
// eval reports accuracy 1 and BLEU 100 on the memorised pairs; TSV errors
// name file:line; bad checkpoints exit 1 naming the file; bad options exit 2.
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "models/seq2seq/decode.hpp"
#include "models/seq2seq/model_io.hpp"
#include "io/safetensors.hpp"
#include "text/corpus.hpp"
#include "optim/optimizer.hpp"
#include "tests/support/checkpoint_files.hpp"
#include "tests/support/op_test.hpp"
#include "tests/support/run_loom.hpp"

namespace loom {
namespace {

namespace fs = std::filesystem;

using test::read_bytes;
using test::write_bytes;

// Longer pairs over the toy vocabulary's words, so the corpus has 4-grams.
const char* const kLongPairs =
    "the white cat eats\tel gato blanco come\n"
    "we go to the black house\tnosotros vamos a la casa negra\n"
    "they eat in the white house\tellos comen en la casa blanca\n"
    "the black cats eat\tlos gatos negros comen\n";

// A temp directory holding train.tsv and model.safetensors: a model trained
// (once per test process) until it translates every training pair exactly.
struct Trained {
  fs::path dir;
  std::string corpus_path, checkpoint;
  bool memorised = false;

  Trained() {
    dir = fs::temp_directory_path() / ("loom_cli_translate_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    corpus_path = file("train.tsv");
    checkpoint = file("model.safetensors");
    write_bytes(corpus_path, read_bytes("data/toy.tsv") + kLongPairs);
    train_and_save();
  }
  ~Trained() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }

  void train_and_save() {
    text::TokenizedCorpus corpus = text::tokenize_pairs(text::read_tsv(corpus_path), corpus_path);
    text::Vocabulary source_vocab = text::Vocabulary::build(corpus.sources);
    text::Vocabulary target_vocab = text::Vocabulary::build(corpus.targets);
    std::vector<text::EncodedPair> pairs = text::encode_pairs(corpus, source_vocab, target_vocab);
    models::seq2seq::Seq2SeqConfig c;
    c.src_vocab = source_vocab.size(), c.tgt_vocab = target_vocab.size();
    c.embed = 32, c.hidden = 64, c.attention = "dot";
    models::seq2seq::Seq2Seq model(c);
    model.init_parameters(1);
    auto adam = optim::make_optimizer({.kind = "adam"}, model.params());
    models::seq2seq::Batcher batcher(pairs, {.batch_size = 32, .bucket_width = 100, .seed = 2});
    // Epochs in rounds until greedy decoding reproduces every pair.
    for (int epoch = 0; epoch < 800 && !memorised; ++epoch) {
      for (const models::seq2seq::Batch& b : batcher.epoch(uint64_t(epoch))) {
        model.train_step_gradients(b);
        optim::clip_grad_norm(model.params(), 5.0);
        adam->step(model.params(), 0.01);
      }
      if (epoch % 25 == 24) memorised = reproduces(model, pairs);
    }
    models::seq2seq::save_model(checkpoint, model, source_vocab, target_vocab);
  }

  static bool reproduces(models::seq2seq::Seq2Seq& model, const std::vector<text::EncodedPair>& pairs) {
    models::seq2seq::Decoder decoder(model);
    for (const text::EncodedPair& p : pairs) {
      models::seq2seq::Translation t = decoder.greedy(p.source);
      if (!t.finished || t.tokens != p.target) return false;
    }
    return true;
  }
};

Trained& trained() {
  static Trained t;
  return t;
}

using test::LoomRun;
// Runs `$LOOM_BIN args` through the shell (args may hold redirections).
LoomRun loom(const std::string& args) { return test::run_loom(args); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The number after `label` on its line of `output`; NaN when absent.
double number_after(const std::string& output, const std::string& label) {
  size_t at = output.find(label);
  if (at == std::string::npos) return NAN;
  return std::strtod(output.c_str() + at + label.size(), nullptr);
}

size_t count_of(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

std::string checkpoint_option() { return "--checkpoint '" + trained().checkpoint + "'"; }

TEST(CliTranslate, ModelMemorisesItsCorpus) {
  EXPECT_TRUE(trained().memorised) << "training did not reproduce every pair; the CLI tests below would fail";
}

TEST(CliTranslate, SentenceArgumentsGiveTheirTargets) {
  LoomRun r = loom("translate " + checkpoint_option() + " 'the white house' 'Thank you' 'the black cats eat'");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "la casa blanca\ngracias\nlos gatos negros comen\n") << r.err;
}

TEST(CliTranslate, StdinLinesGiveOneTranslationEach) {
  std::string input = trained().file("input.txt");
  write_bytes(input, "hello\n\nwe go to the black house\r\nthe cat\n");
  LoomRun r = loom("translate " + checkpoint_option() + " < '" + input + "'");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hola\n\nnosotros vamos a la casa negra\nel gato\n") << r.err;
}

TEST(CliTranslate, BadLineIsReportedAndTheRestTranslated) {
  std::string input = trained().file("bad_utf8.txt");
  write_bytes(input, "hello\nthe \xff cat\nthank you\n");
  LoomRun r = loom("translate " + checkpoint_option() + " < '" + input + "'");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "line 2: ")) << r.err;
  EXPECT_EQ(r.out, "hola\n\ngracias\n") << r.err;
}

TEST(CliTranslate, BeamSearchTranslatesToo) {
  LoomRun r = loom("translate --beam 3 --max-length 20 " + checkpoint_option() +
                   " 'they eat in the white house' 'good morning'");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "ellos comen en la casa blanca\nbuenos días\n") << r.err;
}

TEST(CliTranslate, UnknownWordsStillTranslate) {
  LoomRun r = loom("translate " + checkpoint_option() + " 'the purple zebra'");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_of(r.out, "\n"), 1u) << r.out;
}

TEST(CliTranslate, AttentionWritesHeatmapOfTheFirstSentence) {
  std::string svg_path = trained().file("attention.svg");
  LoomRun r = loom("translate --attention '" + svg_path + "' " + checkpoint_option() +
                   " 'the white house' 'hello'");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "la casa blanca\nhola\n");
  EXPECT_TRUE(contains(r.err, "wrote " + svg_path)) << r.err;
  std::string svg = read_bytes(svg_path);
  ASSERT_TRUE(contains(svg, "<svg")) << svg_path;
  for (const char* word : {"the", "white", "house", "&lt;eos&gt;", "la", "casa", "blanca"})
    EXPECT_TRUE(contains(svg, std::string(">") + word + "<")) << word;
  EXPECT_FALSE(contains(svg, ">hola<")) << "only the first sentence is drawn";
  EXPECT_EQ(count_of(svg, "class=\"cell\""), 3u * 4u) << "3 output words x (3 source words + <eos>)";
}

TEST(CliEval, MemorisedCorpusScoresPerfectly) {
  LoomRun r = loom("eval " + checkpoint_option() + " --data '" + trained().corpus_path + "' --batch 7");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(number_after(r.out, "token accuracy:"), 1.0) << r.out;
  EXPECT_EQ(number_after(r.out, "BLEU-4:"), 100.0) << r.out;
  EXPECT_LT(number_after(r.out, "loss:"), 0.1) << r.out;
  double loss = number_after(r.out, "loss:"), ppl = number_after(r.out, "perplexity:");
  EXPECT_NEAR(ppl, std::exp(loss), 2e-3 * ppl) << r.out;
  EXPECT_TRUE(contains(r.out, "(24 pairs, ")) << r.out;
  EXPECT_TRUE(contains(r.out, "(24 sentences, greedy)")) << r.out;
}

TEST(CliEval, BeamAndBleuLimit) {
  LoomRun r = loom("eval " + checkpoint_option() + " --data '" + trained().corpus_path + "' --beam 2 --bleu-limit 3");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "(3 sentences, beam 2)")) << r.out;
  // Toy pairs 1-3 have no 4-gram: unsmoothed BLEU-4 is 0, and the output says why.
  EXPECT_EQ(number_after(r.out, "BLEU-4:"), 0.0) << r.out;
  EXPECT_TRUE(contains(r.out, "note: no output has 4 or more words")) << r.out;
  EXPECT_EQ(number_after(r.out, "token accuracy:"), 1.0) << "teacher forcing still covers every pair\n" << r.out;
}

TEST(CliEval, TsvErrorNamesFileAndLine) {
  std::string bad = trained().file("bad.tsv");
  write_bytes(bad, "hello\thola\nno tab here\n");
  LoomRun r = loom("eval " + checkpoint_option() + " --data '" + bad + "'");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, bad + ":2")) << r.err;
  LoomRun missing = loom("eval " + checkpoint_option() + " --data '" + trained().file("nowhere.tsv") + "'");
  EXPECT_EQ(missing.status, 1);
  EXPECT_TRUE(contains(missing.err, "nowhere.tsv")) << missing.err;
}

TEST(CliTranslate, BadCheckpointExitsOneNamingTheFile) {
  std::string corrupt = trained().file("corrupt.safetensors");
  write_bytes(corrupt, "this is not a checkpoint at all, just some text");
  for (const std::string& path : {corrupt, trained().file("absent.safetensors")}) {
    LoomRun t = loom("translate --checkpoint '" + path + "' hello");
    EXPECT_EQ(t.status, 1) << t.err;
    EXPECT_TRUE(contains(t.err, path)) << t.err;
    EXPECT_EQ(t.out, "");
    LoomRun e = loom("eval --checkpoint '" + path + "' --data data/toy.tsv");
    EXPECT_EQ(e.status, 1) << e.err;
    EXPECT_TRUE(contains(e.err, path)) << e.err;
  }
}

// The trained checkpoint with one NaN in out.weight (so every logit row it
// touches, and the loss, is NaN).
std::string checkpoint_with_nan() {
  const std::string path = trained().file("nan.safetensors");
  io::SafetensorsFile file = io::load_safetensors(trained().checkpoint);
  std::vector<io::NamedTensor> tensors;
  for (auto& [name, tensor] : file.tensors) tensors.push_back({name, tensor.ref()});
  file.tensors.at("out.weight").ref().ptr<float>()[0] = NAN;
  io::save_safetensors(path, tensors, file.metadata);
  return path;
}

TEST(CliTranslate, NonFiniteWeightsAreRefusedUnlessAllowed) {
  const std::string path = checkpoint_with_nan();
  LoomRun e = loom("eval --checkpoint '" + path + "' --data data/toy.tsv");
  EXPECT_EQ(e.status, 1) << e.err;
  EXPECT_TRUE(contains(e.err, path) && contains(e.err, "out.weight holds NaN or infinity")) << e.err;
  EXPECT_FALSE(contains(e.out, "loss:")) << e.out;
  LoomRun t = loom("translate --checkpoint '" + path + "' hello");
  EXPECT_EQ(t.status, 1) << t.err;
  EXPECT_TRUE(contains(t.err, path) && contains(t.err, "out.weight")) << t.err;
  // Allowed: a warning names the tensor; eval's NaN loss still fails the run.
  LoomRun allowed = loom("eval --allow-nonfinite --bleu-limit 1 --checkpoint '" + path + "' --data data/toy.tsv");
  EXPECT_EQ(allowed.status, 1) << allowed.err;
  EXPECT_TRUE(contains(allowed.err, "warning") && contains(allowed.err, "out.weight")) << allowed.err;
  EXPECT_TRUE(contains(allowed.err, "is not finite")) << allowed.err;
  LoomRun translated = loom("translate --allow-nonfinite --checkpoint '" + path + "' hello");
  EXPECT_EQ(translated.status, 0) << translated.err;
  EXPECT_TRUE(contains(translated.err, "warning") && contains(translated.err, "out.weight")) << translated.err;
}

TEST(CliTranslate, BadOptionsExitTwoWithUsage) {
  for (const std::string& args :
       {"translate --frobnicate " + checkpoint_option(), std::string("translate hello"),
        "translate --beam 0 " + checkpoint_option() + " hello", "translate --max-length -1 " + checkpoint_option(),
        std::string("eval --data data/toy.tsv"), "eval " + checkpoint_option() + " --data data/toy.tsv extra",
        "eval --batch 0 " + checkpoint_option() + " --data data/toy.tsv"}) {
    LoomRun r = loom(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, "usage: loom ")) << args << "\n" << r.err;
  }
  // Limits are stated in command-line terms, before the checkpoint is read.
  const std::vector<std::pair<std::string, std::string>> limits = {
      {"translate --beam 100000 --checkpoint x hello", "--beam must be in [1, 256], got 100000"},
      {"translate --max-length 5000 --checkpoint x hello", "--max-length must be in [0, 1024], got 5000"},
      {"translate --threads 10000 --checkpoint x hello", "--threads must be in [0, 1024], got 10000"},
      {"eval --beam 0 --checkpoint x --data y", "--beam must be in [1, 256], got 0"},
      {"eval --bleu-limit -1 --checkpoint x --data y", "--bleu-limit must be >= 0, got -1"},
  };
  for (const auto& [args, message] : limits) {
    LoomRun r = loom(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, message)) << args << "\n" << r.err;
  }
  LoomRun help = loom("translate --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_TRUE(contains(help.out, "--attention")) << help.out;
  EXPECT_TRUE(contains(help.out, "(=1)")) << "defaults are shown\n" << help.out;
  EXPECT_TRUE(contains(help.out, "<pad> and <bos> are never")) << "how decoding differs from argmax\n" << help.out;
}

}  // namespace
}  // namespace loom
