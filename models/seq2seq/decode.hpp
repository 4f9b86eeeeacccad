// Decoding a trained Seq2Seq (docs/MODEL.md, Decoding). The encoder runs once per
// sentence as its own graph (1,S); then a one-step decoder graph for K rows
// (K = 1 for greedy, the beam width for beam search) maps the previous token,
// each layer's (h, c), the encoder outputs and the source mask to log-probs
// (K,Vt), the new state and the attention weights (K,1,S). Each graph is
// compiled once per (K,S) and reused across steps and sentences; parameters
// are bound to the model's store, so further training is seen at once.
// <pad> and <bos> are never chosen: the model is never trained to emit them.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "models/seq2seq/seq2seq.hpp"

namespace loom::models::seq2seq {

struct Translation {
  std::vector<int32_t> tokens;  // target ids, without <bos> and <eos>
  bool finished = false;        // ended with <eos> (false: stopped at the length limit)
  double log_prob = 0;          // Σ log p over the scored steps (<eos> included when finished)
  double score = 0;             // log_prob / scored steps: the length-normalised score
  Tensor attention;             // f32 [tokens.size(), S]; rank 0 for attention "none"
};

class Decoder {
 public:
  explicit Decoder(Seq2Seq& model);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // source: ids without <eos>; it is appended here, as the batcher does.
  // max_length <= 0 means 2·S + 10 steps, S counting the <eos>.
  Translation greedy(const std::vector<int32_t>& source, int64_t max_length = 0);
  // At most `width` hypotheses, best length-normalised score first. Finished
  // hypotheses leave the beam, which then keeps the remaining best ones;
  // width 1 gives exactly the greedy result.
  std::vector<Translation> beam_search(const std::vector<int32_t>& source, int64_t width, int64_t max_length = 0);
  // Teacher forcing through the step graph: log-probs (n+1, Vt) of each
  // next token after <bos> y1..yn (row t predicts y_{t+1}, the last <eos>).
  Tensor forced_log_probs(const std::vector<int32_t>& source, const std::vector<int32_t>& target);

  size_t cached_plans() const;

 private:
  struct Session;
  Session start(const std::vector<int32_t>& source, int64_t rows);
  Executor& encoder_plan(int64_t S);
  Executor& step_plan(int64_t K, int64_t S);
  std::unique_ptr<Executor> make_encoder_plan(int64_t S);
  std::unique_ptr<Executor> make_step_plan(int64_t K, int64_t S);

  Seq2Seq* model_;
  PlanCache encoders_, steps_;
};

// The plans a Decoder runs, compiled for the model's current parameters
// (also for `loom explain --model seq2seq`). The encoder reads one sentence of
// S tokens; a decoding step maps K rows' previous tokens and states to
// "log_probs", "h_l<k>"/"c_l<k>" per layer and, with attention, "attention".
Plan compile_encoder_plan(const Seq2Seq& model, int64_t S);
Plan compile_decoder_step_plan(const Seq2Seq& model, int64_t K, int64_t S);

}  // namespace loom::models::seq2seq
