// Sampling text from a trained language model (docs/MODEL.md, The language
// model, Generation). One compiled step graph maps one token per row and each
// layer's (h, c) to the logits of the next token and the new state:
//   x = embedding[token]; (h_k, c_k) = lstm_cell(x, h_k, c_k) per layer;
//   logits = h_top @ W.T + b
// It is compiled once per Generator with the parameters bound to the model's
// store (packed once per weight update), so further training is seen at once.
// The run starts from zero states at <bos>, reads the prompt one token at a
// time, then draws up to max_tokens tokens, stopping at <eos>.
#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "graph/executor.hpp"
#include "graph/plan.hpp"
#include "models/lm/language_model.hpp"

namespace loom::models::lm {

struct GenerateOptions {
  int64_t max_tokens = 100;  // tokens drawn at most (<eos> ends earlier)
  double temperature = 1.0;  // logits / T before the softmax; 0 = greedy (argmax)
  int64_t top_k = 0;         // draw among the K most likely tokens only; 0 = all
  uint64_t seed = 1;         // std::mt19937_64: the same seed gives the same text
};

// Throws std::invalid_argument naming the field: max_tokens < 0, a
// temperature that is negative, NaN or infinite, top_k < 0.
void check_generate_options(const GenerateOptions& options);

struct Generation {
  std::vector<int32_t> prompt;  // the prompt's ids (unknown tokens as <unk>), without <bos>
  std::vector<int32_t> tokens;  // the drawn ids, without the final <eos>
  bool finished = false;        // ended with <eos> (false: stopped at max_tokens)
  std::string text;             // the drawn tokens as text (join_units; <unk> printed as is)
};

class Generator {
 public:
  explicit Generator(LanguageModel& model);
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  // Tokenises the prompt with the model's unit and continues it.
  Generation generate(const std::string& prompt, const GenerateOptions& options);
  // The same from ids (each in [0, V); throws std::invalid_argument otherwise).
  Generation generate_ids(const std::vector<int32_t>& prompt, const GenerateOptions& options);
  // The logits (V) of the first token after <bos> and the prompt, as the
  // sampler sees them before the temperature (f64).
  std::vector<double> next_logits(const std::vector<int32_t>& prompt);

 private:
  struct Session;
  Session start(const std::vector<int32_t>& prompt);
  Executor& step();

  LanguageModel* model_;
  std::unique_ptr<Executor> step_;
};

// The plan a Generator runs: inputs "token" i32 (1), "h_l<k>", "c_l<k>" (1,H);
// outputs "logits" (1,V) and "h_l<k>", "c_l<k>" per layer.
Plan compile_generation_step_plan(const LanguageModel& model);

// The token drawn from logits (V) under the options, from rng: never <pad>
// or <bos> (the model is never trained to predict them); temperature 0 takes
// the first largest logit; otherwise softmax(logits / T) restricted to the
// top_k largest (ties to the lower id) is sampled with a uniform double built
// from 53 bits of the engine's raw output (the same on every standard library).
int32_t draw_token(const std::vector<double>& logits, const GenerateOptions& options, std::mt19937_64& rng);

}  // namespace loom::models::lm
