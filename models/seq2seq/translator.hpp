// The translator as a runtime::Model: a Seq2Seq with its two vocabularies,
// its data (TSV sentence pairs, bucketed by source length) and its metrics
// (token accuracy, and BLEU of greedy translations of the first validation
// sentences). register_seq2seq() adds it to the model registry as
// "seq2seq", with its command-line options.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/seq2seq/batcher.hpp"
#include "models/seq2seq/seq2seq.hpp"
#include "runtime/model_family.hpp"
#include "text/corpus.hpp"
#include "text/vocabulary.hpp"

namespace loom::models::seq2seq {

// One padded batch of sentence pairs.
class TranslationBatch : public runtime::Batch {
 public:
  explicit TranslationBatch(seq2seq::Batch batch) : batch_(std::move(batch)) {}
  const seq2seq::Batch& batch() const { return batch_; }
  int64_t rows() const override { return batch_.source.shape()[0]; }
  int64_t loss_tokens() const override { return batch_.target_tokens; }
  std::string to_json() const override;

 private:
  seq2seq::Batch batch_;
};

// Sentence pairs of one TSV file, encoded with a translator's vocabularies.
class TranslationData : public runtime::Dataset {
 public:
  TranslationData(std::string path, text::TokenizedCorpus tokens, std::unique_ptr<seq2seq::Batcher> batcher,
                  int64_t bleu_sentences);
  int64_t examples() const override { return batcher_->num_pairs(); }
  std::vector<std::vector<int64_t>> epoch_plan(uint64_t epoch) const override { return batcher_->epoch_plan(epoch); }
  std::vector<std::vector<int64_t>> evaluation_plan() const override { return batcher_->epoch_plan(0); }
  std::unique_ptr<runtime::Batch> make_batch(std::span<const int64_t> examples) const override;
  std::string describe() const override;
  const text::TokenizedCorpus& tokens() const { return tokens_; }
  int64_t bleu_sentences() const { return bleu_sentences_; }

 private:
  std::string path_;
  text::TokenizedCorpus tokens_;
  std::unique_ptr<seq2seq::Batcher> batcher_;
  int64_t bleu_sentences_;
};

class Translator : public runtime::Model {
 public:
  Translator(std::unique_ptr<Seq2Seq> model, text::Vocabulary source_vocab, text::Vocabulary target_vocab);

  Seq2Seq& seq2seq() { return *model_; }
  const Seq2Seq& seq2seq() const { return *model_; }
  const text::Vocabulary& source_vocab() const { return source_vocab_; }
  const text::Vocabulary& target_vocab() const { return target_vocab_; }

  std::string kind() const override;
  ParameterStore& params() override { return model_->params(); }
  runtime::PlanRuntime& runtime() override { return model_->runtime(); }
  void init_parameters(uint64_t seed) override { model_->init_parameters(seed); }
  double train_step(const runtime::Batch& batch) override;
  runtime::Evaluation evaluate_batch(const runtime::Batch& batch) override;
  std::vector<runtime::Metric> metrics(const runtime::Evaluation& totals, const runtime::Dataset& data,
                                       bool thorough) override;
  std::vector<std::string> evaluation_counts() const override { return {"correct"}; }
  std::vector<std::string> logged_metrics() const override { return {"bleu"}; }
  std::string shape_key(const runtime::Batch& batch) const override;
  Plan training_plan(const runtime::Batch& batch) const override;
  Plan evaluation_plan(const runtime::Batch& batch) const override;
  std::map<std::string, std::string> config() const override;
  std::map<std::string, std::string> metadata() const override;

 private:
  std::unique_ptr<Seq2Seq> model_;
  text::Vocabulary source_vocab_, target_vocab_;
};

// Adds "seq2seq" to runtime::model_registry() (once).
void register_seq2seq();

}  // namespace loom::models::seq2seq
