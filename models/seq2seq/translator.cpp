// The translator as a model of the framework (translator.hpp): its batches,
// data, metrics and registration with its command-line options.
#include "models/seq2seq/translator.hpp"

#include <nlohmann/json.hpp>

#include <limits>

#include "models/seq2seq/bleu.hpp"
#include "models/seq2seq/decode.hpp"
#include "models/seq2seq/model_io.hpp"

namespace loom::models::seq2seq {

namespace {

// Rows of an evaluation batch (file order, no shuffling).
constexpr int64_t kEvaluationBatch = 64;
constexpr int64_t kMaxWidth = 8192;  // --embed, --hidden: past this it is a typo, not a model
constexpr int64_t kMaxLayers = 64;

// A (B, N) i32 tensor as B rows, or a (B) one as a flat list.
nlohmann::json ids(const Tensor& t) {
  const int32_t* p = t.data<int32_t>();
  if (t.shape().rank() == 1) return std::vector<int32_t>(p, p + t.shape()[0]);
  const int64_t rows = t.shape()[0], cols = t.shape()[1];
  nlohmann::json out = nlohmann::json::array();
  for (int64_t r = 0; r < rows; ++r) out.push_back(std::vector<int32_t>(p + r * cols, p + (r + 1) * cols));
  return out;
}

std::string shape_key_of(const seq2seq::Batch& b) {
  return shape_signature({{"B", b.source.shape()[0]}, {"S", b.source.shape()[1]}, {"T", b.target_input.shape()[1]}});
}

}  // namespace

// ---- batches and data ---------------------------------------------------------------------------

std::string TranslationBatch::to_json() const {
  nlohmann::json row = {{"source", ids(batch_.source)},
                        {"source_lengths", ids(batch_.source_lengths)},
                        {"target_input", ids(batch_.target_input)},
                        {"target_output", ids(batch_.target_output)},
                        {"target_tokens", batch_.target_tokens}};
  return row.dump();
}

TranslationData::TranslationData(std::string path, text::TokenizedCorpus tokens,
                                 std::unique_ptr<seq2seq::Batcher> batcher, int64_t bleu_sentences)
    : path_(std::move(path)), tokens_(std::move(tokens)), batcher_(std::move(batcher)),
      bleu_sentences_(bleu_sentences) {}

std::unique_ptr<runtime::Batch> TranslationData::make_batch(std::span<const int64_t> examples) const {
  return std::make_unique<TranslationBatch>(batcher_->make_batch({examples.begin(), examples.end()}));
}

std::string TranslationData::describe() const {
  return std::to_string(examples()) + " sentence pairs of " + path_;
}

// ---- the model ----------------------------------------------------------------------------------

Translator::Translator(std::unique_ptr<Seq2Seq> model, text::Vocabulary source_vocab, text::Vocabulary target_vocab)
    : model_(std::move(model)), source_vocab_(std::move(source_vocab)), target_vocab_(std::move(target_vocab)) {}

std::string Translator::kind() const { return kSeq2SeqKind; }

double Translator::train_step(const runtime::Batch& batch) {
  return model_->train_step_gradients(runtime::batch_as<TranslationBatch>(batch).batch());
}

runtime::Evaluation Translator::evaluate_batch(const runtime::Batch& batch) {
  const EvalResult r = model_->evaluate_batch(runtime::batch_as<TranslationBatch>(batch).batch());
  return {r.loss_sum, r.tokens, {{"correct", double(r.correct)}}};
}

std::vector<runtime::Metric> Translator::metrics(const runtime::Evaluation& totals, const runtime::Dataset& data,
                                                 bool thorough) {
  const auto& pairs = dynamic_cast<const TranslationData&>(data);
  const double accuracy = totals.tokens ? totals.counts.at("correct") / double(totals.tokens) : 0.0;
  double bleu = std::numeric_limits<double>::quiet_NaN();
  const int64_t n = thorough ? std::min<int64_t>(pairs.bleu_sentences(), pairs.examples()) : 0;
  if (n > 0) {
    Decoder decoder(*model_);
    std::vector<Tokens> hyps, refs;
    for (int64_t i = 0; i < n; ++i) {
      Translation t = decoder.greedy(source_vocab_.encode(pairs.tokens().sources[size_t(i)]));
      hyps.push_back(target_vocab_.decode(t.tokens));
      refs.push_back(pairs.tokens().targets[size_t(i)]);
    }
    bleu = corpus_bleu(hyps, refs).bleu;
  }
  char accuracy_text[40], bleu_text[40];
  std::snprintf(accuracy_text, sizeof accuracy_text, "accuracy %.1f%%", 100 * accuracy);
  std::snprintf(bleu_text, sizeof bleu_text, "BLEU %.1f", bleu);
  return {{"accuracy", accuracy, accuracy_text}, {"bleu", bleu, bleu_text}};
}

std::string Translator::shape_key(const runtime::Batch& batch) const {
  return shape_key_of(runtime::batch_as<TranslationBatch>(batch).batch());
}

Plan Translator::training_plan(const runtime::Batch& batch) const {
  const seq2seq::Batch& b = runtime::batch_as<TranslationBatch>(batch).batch();
  return model_->training_plan(b.source.shape()[0], b.source.shape()[1], b.target_input.shape()[1]);
}

Plan Translator::evaluation_plan(const runtime::Batch& batch) const {
  const seq2seq::Batch& b = runtime::batch_as<TranslationBatch>(batch).batch();
  return model_->evaluation_plan(b.source.shape()[0], b.source.shape()[1], b.target_input.shape()[1]);
}

std::map<std::string, std::string> Translator::config() const { return config_to_map(model_->config()); }

std::map<std::string, std::string> Translator::metadata() const {
  return models::seq2seq::checkpoint_info(model_->config(), source_vocab_, target_vocab_).metadata;
}

// ---- the family ---------------------------------------------------------------------------------

namespace {

using runtime::OptionSpec;
using Kind = OptionSpec::Kind;

std::vector<OptionSpec> translator_options() {
  return {
      OptionSpec::integer("embed", 128, "embedding size E", 1, kMaxWidth).fixed_by_checkpoint(),
      OptionSpec::integer("hidden", 256, "LSTM hidden size H", 1, kMaxWidth).fixed_by_checkpoint(),
      OptionSpec::integer("layers", 1, "LSTM layers L", 1, kMaxLayers).fixed_by_checkpoint(),
      OptionSpec::text("attention", "dot", attention_registry().names_text(" | "), attention_names())
          .fixed_by_checkpoint(),
      OptionSpec::real("dropout", 0, "dropout on embeddings and LSTM outputs", 0, 1, true).fixed_by_checkpoint(),
      OptionSpec::real("label-smoothing", 0, "label smoothing of the training loss", 0, 1, true)
          .fixed_by_checkpoint(),
      OptionSpec::integer("min-freq", 1, "rarer words become <unk>", 1),
      OptionSpec::integer("max-vocab", 0, "largest vocabulary, reserved ids included (0 = no limit)", 0),
      OptionSpec::integer("max-train-pairs", 0, "use only the first N training pairs (0 = all)", 0),
      OptionSpec::integer("bucket-width", 2, "source lengths per batching bucket (1 = equal lengths)", 1),
      OptionSpec::integer("length-multiple", 8, "pad batch lengths up to a multiple of this, so fewer plans are compiled",
                          1, 64),
      OptionSpec::integer("bleu-sentences", 200, "validation sentences translated for BLEU each epoch", 0),
  };
}

text::TokenizedCorpus read_pairs(const std::string& path, int64_t limit) {
  std::vector<text::TextPair> pairs = text::read_tsv(path);
  if (limit > 0 && int64_t(pairs.size()) > limit) pairs.resize(size_t(limit));
  return text::tokenize_pairs(pairs, path);
}

Seq2SeqConfig config_of(const runtime::RunRequest& r, int64_t src_vocab, int64_t tgt_vocab) {
  Seq2SeqConfig c;
  c.src_vocab = src_vocab;
  c.tgt_vocab = tgt_vocab;
  c.embed = runtime::option_integer(r.options, "embed");
  c.hidden = runtime::option_integer(r.options, "hidden");
  c.layers = runtime::option_integer(r.options, "layers");
  c.attention = runtime::option_text(r.options, "attention");
  c.dropout = runtime::option_real(r.options, "dropout");
  c.label_smoothing = runtime::option_real(r.options, "label-smoothing");
  c.matmul_precision = r.precision;
  c.seed = r.seed;
  return c;
}

runtime::ModelBlueprint describe_translator(const runtime::RunRequest& r) {
  const text::TokenizedCorpus corpus = read_pairs(r.train_path, runtime::option_integer(r.options, "max-train-pairs"));
  text::VocabularyOptions vo;
  vo.min_frequency = runtime::option_integer(r.options, "min-freq");
  vo.max_size = runtime::option_integer(r.options, "max-vocab");
  auto source = std::make_shared<text::Vocabulary>(text::Vocabulary::build(corpus.sources, vo));
  auto target = std::make_shared<text::Vocabulary>(text::Vocabulary::build(corpus.targets, vo));
  const Seq2SeqConfig config = config_of(r, source->size(), target->size());
  return {seq2seq_parameter_shapes(config), [config, source, target]() -> std::unique_ptr<runtime::Model> {
            return std::make_unique<Translator>(std::make_unique<Seq2Seq>(config), *source, *target);
          }};
}

std::unique_ptr<runtime::Model> restore_translator(const std::string& path, const io::CheckpointInfo&) {
  LoadedModel built = build_model(path);
  return std::make_unique<Translator>(std::move(built.model), std::move(built.source_vocab),
                                      std::move(built.target_vocab));
}

std::unique_ptr<runtime::Dataset> open_pairs(const runtime::Model& model, const std::string& path,
                                             const runtime::RunRequest& r, bool training) {
  const auto& translator = dynamic_cast<const Translator&>(model);
  text::TokenizedCorpus corpus = read_pairs(path, training ? runtime::option_integer(r.options, "max-train-pairs") : 0);
  seq2seq::BatcherOptions bo;
  bo.batch_size = training ? r.batch_size : kEvaluationBatch;
  bo.bucket_width = runtime::option_integer(r.options, "bucket-width");
  bo.length_multiple = runtime::option_integer(r.options, "length-multiple");
  bo.seed = r.seed;
  bo.shuffle = training;
  auto batcher = std::make_unique<seq2seq::Batcher>(
      text::encode_pairs(corpus, translator.source_vocab(), translator.target_vocab()), bo);
  return std::make_unique<TranslationData>(path, std::move(corpus), std::move(batcher),
                                           runtime::option_integer(r.options, "bleu-sentences"));
}

}  // namespace

void register_seq2seq() {
  runtime::register_model_family(kSeq2SeqKind, "the attention encoder-decoder translator (docs/MODEL.md)", [] {
    runtime::ModelFamily f;
    f.default_train = "data/en-es/train.tsv";
    f.default_valid = "data/en-es/valid.tsv";
    f.data_help = "sentence pairs, source<TAB>target per line";
    f.options = translator_options();
    f.describe = describe_translator;
    f.restore = restore_translator;
    f.open_data = open_pairs;
    return f;
  });
}

}  // namespace loom::models::seq2seq
