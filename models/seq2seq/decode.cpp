// Greedy and beam decoding over two compiled graphs: the encoder (1,S) and
// one decoder step (K rows). Step graph inputs: "prev_tokens" i32 (K),
// "h_l{k}" / "c_l{k}" (K,H), "encoder_outputs" (K,S,H), "source_mask"
// (K,1,S). Fetches: 0 log-probs (K,Vt); 1+2k h of layer k; 2+2k c of layer
// k; then attention weights (K,1,S) when the layer has a context.
#include "models/seq2seq/decode.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "graph/plan.hpp"
#include "text/vocabulary.hpp"
#include "ops/ops.hpp"

namespace loom::models::seq2seq {

using text::Vocabulary;

namespace {

double element(const TensorRef& r, int64_t i) {
  return r.dtype() == DType::F64 ? r.ptr<double>()[i] : double(r.ptr<float>()[i]);
}

// Tokens the decoder may emit: never <pad> or <bos>.
bool emittable(int64_t token) { return token != Vocabulary::kPad && token != Vocabulary::kBos; }

std::string layer_name(char what, int64_t k) { return std::string(1, what) + "_l" + std::to_string(k); }

// keep_rows' argument when one row continues itself, made once rather than per step.
const std::vector<int64_t>& first_row_only() {
  static const std::vector<int64_t> rows{0};
  return rows;
}

}  // namespace

// One sentence being decoded over K rows: the host copy of each row's
// previous token and LSTM state, fed before every step.
struct Decoder::Session {
  Executor* step = nullptr;
  int64_t K = 0, S = 0, L = 0, V = 0;
  bool has_weights = false;
  Tensor prev;               // i32 (K)
  std::vector<Tensor> h, c;  // (K,H) per layer
  // The step's outputs, looked up by name once: "log_probs", per layer
  // "h_l<k>" and "c_l<k>", and "attention" when the model has one.
  size_t log_probs = 0, weights = 0;
  std::vector<size_t> h_out, c_out;

  void find_outputs() {
    log_probs = step->output_index("log_probs");
    for (int64_t k = 0; k < L; ++k) {
      h_out.push_back(step->output_index(layer_name('h', k)));
      c_out.push_back(step->output_index(layer_name('c', k)));
    }
    if (has_weights) weights = step->output_index("attention");
  }

  void run() {
    step->set_input("prev_tokens", prev);
    for (int64_t k = 0; k < L; ++k) {
      step->set_input(layer_name('h', k), h[size_t(k)]);
      step->set_input(layer_name('c', k), c[size_t(k)]);
    }
    step->run();
  }
  double log_prob(int64_t row, int64_t token) const { return element(step->output(log_probs), row * V + token); }
  // Row r's state becomes the new state of row parents[r].
  void keep_rows(const std::vector<int64_t>& parents) {
    for (int64_t k = 0; k < L; ++k) {
      gather(step->output(h_out[size_t(k)]), h[size_t(k)], parents);
      gather(step->output(c_out[size_t(k)]), c[size_t(k)], parents);
    }
  }
  static void gather(const TensorRef& from, Tensor& to, const std::vector<int64_t>& parents) {
    const size_t row_bytes = to.bytes() / size_t(to.shape()[0]);
    for (size_t r = 0; r < parents.size(); ++r)
      std::memcpy(static_cast<std::byte*>(to.raw()) + r * row_bytes,
                  static_cast<const std::byte*>(from.data) + size_t(parents[r]) * row_bytes, row_bytes);
  }
  // Appends the attention weights (S) of `row` to dst.
  void append_weights(int64_t row, std::vector<float>& dst) const {
    if (!has_weights) return;
    TensorRef w = step->output(weights);
    for (int64_t s = 0; s < S; ++s) dst.push_back(float(element(w, row * S + s)));
  }
};

Decoder::Decoder(Seq2Seq& model) : model_(&model) {}
Decoder::~Decoder() = default;

size_t Decoder::cached_plans() const { return encoders_.size() + steps_.size(); }

// ---- graphs -----------------------------------------------------------------------------------

Plan compile_encoder_plan(const Seq2Seq& model, int64_t S) {
  Graph g;
  Var source = input(g, "source", {DType::I32, {1, S}});
  Var lengths = input(g, "source_lengths", {DType::I32, {1}});
  DropoutSites no_dropout;
  Seq2Seq::Encoded enc = model.build_encoder(source, lengths, model.parameter_source(g), no_dropout);
  std::vector<NamedValue> fetch{{"encoder_outputs", enc.outputs.value}};
  for (size_t k = 0; k < enc.states.size(); ++k) {
    fetch.push_back({layer_name('h', int64_t(k)), enc.states[k].h.value});
    fetch.push_back({layer_name('c', int64_t(k)), enc.states[k].c.value});
  }
  return compile(g, fetch, model.compile_options());
}

Plan compile_decoder_step_plan(const Seq2Seq& model, int64_t K, int64_t S) {
  const Seq2SeqConfig& cfg = model.config();
  const int64_t H = cfg.hidden;
  Graph g;
  ParameterSource p = model.parameter_source(g);
  Var prev = input(g, "prev_tokens", {DType::I32, {K}});
  Var enc = input(g, "encoder_outputs", {cfg.dtype, {K, S, H}});
  Var mask = input(g, "source_mask", {cfg.dtype, {K, 1, S}});
  Var x = model.embed(prev, "tgt", p);  // (K,E)
  std::vector<NamedValue> fetch(1);
  for (int64_t k = 0; k < cfg.layers; ++k) {
    ops::LstmState st{input(g, layer_name('h', k), {cfg.dtype, {K, H}}),
                      input(g, layer_name('c', k), {cfg.dtype, {K, H}})};
    Seq2Seq::LstmWeights w = model.lstm_weights(p, "decoder", k);
    st = ops::lstm_cell(x, st, w.w_ih, w.w_hh, w.b_ih, w.b_hh);
    x = st.h;  // (K,H)
    fetch.push_back({layer_name('h', k), st.h.value});
    fetch.push_back({layer_name('c', k), st.c.value});
  }
  Var dec = ops::reshape(x, {K, 1, H});
  AttentionOutput att = model.build_attention(dec, enc, mask, p);
  Var logits = ops::reshape(model.build_logits(dec, att, p), {K, cfg.tgt_vocab});
  fetch[0] = {"log_probs", named(ops::log_softmax(logits, -1), "log_probs").value};
  if (att.weights.graph) fetch.push_back({"attention", att.weights.value});
  CompileOptions options = model.compile_options();
  options.pack_parameter_weights = true;  // run once per token between weight updates
  return compile(g, fetch, options);
}

std::unique_ptr<Executor> Decoder::make_encoder_plan(int64_t S) {
  return std::make_unique<Executor>(compile_encoder_plan(*model_, S), model_->params());
}

std::unique_ptr<Executor> Decoder::make_step_plan(int64_t K, int64_t S) {
  return std::make_unique<Executor>(compile_decoder_step_plan(*model_, K, S), model_->params());
}

Executor& Decoder::encoder_plan(int64_t S) {
  return encoders_.get(shape_signature({{"S", S}}), [&] { return make_encoder_plan(S); });
}

Executor& Decoder::step_plan(int64_t K, int64_t S) {
  return steps_.get(shape_signature({{"K", K}, {"S", S}}), [&] { return make_step_plan(K, S); });
}

// Encodes the sentence and prepares K rows that all start at <bos> with the
// encoder's final state.
Decoder::Session Decoder::start(const std::vector<int32_t>& source, int64_t K) {
  const Seq2SeqConfig& cfg = model_->config();
  std::vector<int32_t> ids = source;
  ids.push_back(Vocabulary::kEos);
  const int64_t S = int64_t(ids.size()), H = cfg.hidden;
  for (int32_t id : ids)
    if (id < 0 || id >= cfg.src_vocab)
      throw std::invalid_argument("decode: source id " + std::to_string(id) + " is outside [0, " +
                                  std::to_string(cfg.src_vocab) + ")");
  Executor& enc = encoder_plan(S);
  enc.set_input("source", Tensor::from_i32({1, S}, ids));
  enc.set_input("source_lengths", Tensor::from_i32({1}, std::vector<int32_t>{int32_t(S)}));
  enc.run();

  Session s;
  s.step = &step_plan(K, S);
  s.K = K, s.S = S, s.L = cfg.layers, s.V = cfg.tgt_vocab, s.has_weights = model_->has_context();
  s.find_outputs();
  const std::vector<int64_t> all_from_first(size_t(K), 0);
  Tensor outputs(cfg.dtype, {K, S, H}), mask(cfg.dtype, {K, 1, S});
  Session::gather(enc.output("encoder_outputs"), outputs, all_from_first);  // (1,S,H) read as one row of S·H
  for (int64_t i = 0; i < mask.numel(); ++i) mask.set(i, 1.0);
  s.step->set_input("encoder_outputs", outputs);
  s.step->set_input("source_mask", mask);
  for (int64_t k = 0; k < s.L; ++k) {
    s.h.emplace_back(cfg.dtype, Shape{K, H});
    s.c.emplace_back(cfg.dtype, Shape{K, H});
    Session::gather(enc.output(layer_name('h', k)), s.h.back(), all_from_first);
    Session::gather(enc.output(layer_name('c', k)), s.c.back(), all_from_first);
  }
  s.prev = Tensor(DType::I32, {K});
  for (int64_t r = 0; r < K; ++r) s.prev.set(r, Vocabulary::kBos);
  return s;
}

// ---- decoding ---------------------------------------------------------------------------------

namespace {

int64_t length_limit(const std::vector<int32_t>& source, int64_t max_length) {
  return max_length > 0 ? max_length : 2 * (int64_t(source.size()) + 1) + 10;
}

Tensor attention_tensor(const std::vector<float>& rows, int64_t n, int64_t S, bool has_weights) {
  if (!has_weights) return Tensor();
  return Tensor::from_f32({n, S}, rows);
}

}  // namespace

Translation Decoder::greedy(const std::vector<int32_t>& source, int64_t max_length) {
  Session s = start(source, 1);
  Translation tr;
  std::vector<float> weights;
  int64_t scored = 0;
  for (int64_t t = 0, limit = length_limit(source, max_length); t < limit; ++t) {
    s.run();
    const TensorRef log_probs = s.step->output(s.log_probs);
    int64_t best = -1;
    double best_log_prob = 0;
    for (int64_t v = 0; v < s.V; ++v) {
      const double lp = element(log_probs, v);
      if (emittable(v) && (best < 0 || lp > best_log_prob)) {
        best = v;
        best_log_prob = lp;
      }
    }
    tr.log_prob += best_log_prob;
    ++scored;
    if (best == Vocabulary::kEos) {
      tr.finished = true;
      break;
    }
    tr.tokens.push_back(int32_t(best));
    s.append_weights(0, weights);
    s.prev.set(0, double(best));
    s.keep_rows(first_row_only());
  }
  tr.score = scored ? tr.log_prob / double(scored) : 0.0;
  tr.attention = attention_tensor(weights, int64_t(tr.tokens.size()), s.S, s.has_weights);
  return tr;
}

Tensor Decoder::forced_log_probs(const std::vector<int32_t>& source, const std::vector<int32_t>& target) {
  Session s = start(source, 1);
  const int64_t n = int64_t(target.size());
  Tensor out(DType::F64, {n + 1, s.V});
  for (int64_t t = 0; t <= n; ++t) {
    s.run();
    for (int64_t v = 0; v < s.V; ++v) out.set(t * s.V + v, s.log_prob(0, v));
    if (t == n) break;
    s.prev.set(0, double(target[size_t(t)]));
    s.keep_rows(first_row_only());
  }
  return out;
}

namespace {

struct Hypothesis {
  std::vector<int32_t> tokens;
  double log_prob = 0;
  std::vector<float> weights;  // tokens.size() rows of S
};

struct Candidate {
  double log_prob;
  int64_t row, token;
};

// Higher log-prob first; ties by row, then token, so beam width 1 picks what
// greedy's first-maximum argmax picks.
bool better(const Candidate& a, const Candidate& b) {
  if (a.log_prob != b.log_prob) return a.log_prob > b.log_prob;
  return a.row != b.row ? a.row < b.row : a.token < b.token;
}

Translation to_translation(Hypothesis h, bool finished, int64_t S, bool has_weights) {
  Translation tr;
  tr.finished = finished;
  tr.log_prob = h.log_prob;
  int64_t scored = int64_t(h.tokens.size()) + (finished ? 1 : 0);
  tr.score = scored ? h.log_prob / double(scored) : 0.0;
  tr.attention = attention_tensor(h.weights, int64_t(h.tokens.size()), S, has_weights);
  tr.tokens = std::move(h.tokens);
  return tr;
}

}  // namespace

std::vector<Translation> Decoder::beam_search(const std::vector<int32_t>& source, int64_t width,
                                              int64_t max_length) {
  if (width < 1) throw std::invalid_argument("beam_search: width must be >= 1, got " + std::to_string(width));
  Session s = start(source, width);
  std::vector<Hypothesis> live(1);
  std::vector<Translation> done;
  std::vector<Candidate> candidates;
  for (int64_t t = 0, limit = length_limit(source, max_length); t < limit && !live.empty(); ++t) {
    s.run();
    candidates.clear();
    for (int64_t r = 0; r < int64_t(live.size()); ++r)
      for (int64_t v = 0; v < s.V; ++v)
        if (emittable(v)) candidates.push_back({live[size_t(r)].log_prob + s.log_prob(r, v), r, v});
    // The beam keeps as many places as hypotheses are still missing.
    size_t keep = std::min(candidates.size(), size_t(width) - done.size());
    std::partial_sort(candidates.begin(), candidates.begin() + ptrdiff_t(keep), candidates.end(), better);

    std::vector<Hypothesis> next;
    std::vector<int64_t> parents;
    for (size_t i = 0; i < keep; ++i) {
      const Candidate& cand = candidates[i];
      Hypothesis h = live[size_t(cand.row)];
      h.log_prob = cand.log_prob;
      if (cand.token == Vocabulary::kEos) {
        done.push_back(to_translation(std::move(h), true, s.S, s.has_weights));
        continue;
      }
      h.tokens.push_back(int32_t(cand.token));
      s.append_weights(cand.row, h.weights);
      s.prev.set(int64_t(next.size()), double(cand.token));
      parents.push_back(cand.row);
      next.push_back(std::move(h));
    }
    s.keep_rows(parents);
    live = std::move(next);
  }
  for (Hypothesis& h : live) done.push_back(to_translation(std::move(h), false, s.S, s.has_weights));
  std::stable_sort(done.begin(), done.end(),
                   [](const Translation& a, const Translation& b) { return a.score > b.score; });
  if (done.size() > size_t(width)) done.resize(size_t(width));
  return done;
}

}  // namespace loom::models::seq2seq
