// The training loop behind `loom train` (see trainer.hpp). State that must
// survive a restart lives in the checkpoint and its "<hash>.train" sidecar: the
// weights, optimiser buffers, learning-rate schedule, global step, data
// position (epoch, next batch) and early-stopping counters. Batch order is a
// pure function of (seed, epoch) and dropout of (seed, global step), so
// nothing random needs saving beyond the seed.
#include "train/trainer.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <ostream>
#include <sstream>

#include "dist/gradient_reducer.hpp"
#include "io/checkpoint.hpp"
#include "io/training_state.hpp"
#include "models/decode.hpp"
#include "train/batch_log.hpp"
#include "train/data_parallel.hpp"
#include "train/memory_estimate.hpp"
#include "train/metrics.hpp"
#include "train/output_folder.hpp"
#include "io/model_io.hpp"
#include "train/progress.hpp"
#include "train/svg_plot.hpp"
#include "text/batcher.hpp"
#include "text/corpus.hpp"

namespace loom::models {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Corpus {
  std::vector<text::TextPair> pairs;
  text::TokenizedCorpus tokens;
};

Corpus read_corpus(const std::string& path, int64_t limit) {
  Corpus c{text::read_tsv(path), {}};
  if (limit > 0 && int64_t(c.pairs.size()) > limit) c.pairs.resize(size_t(limit));
  c.tokens = text::tokenize_pairs(c.pairs, path);
  return c;
}

// Rows of an earlier metrics CSV, for the loss curve of a resumed run. The
// curve is only a picture: a row that does not parse is left out.
void read_curve(const std::string& path, std::vector<std::pair<double, double>>& train,
                std::vector<std::pair<double, double>>& valid) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  auto number = [](const std::string& text, double& out) {
    const char* end = text.data() + text.size();
    return !text.empty() && std::from_chars(text.data(), end, out).ptr == end;
  };
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
    double step = 0, value = 0;
    if (f.size() < 4 || !number(f[1], step)) continue;
    if (number(f[2], value)) train.emplace_back(step, value);
    if (number(f[3], value)) valid.emplace_back(step, value);
  }
}

class TrainingRun {
 public:
  TrainingRun(const TrainOptions& o, std::ostream& log) : o_(o), log_(log), start_(clock::now()) {}
  TrainResult run(const std::atomic<bool>* stop);
  TrainResult train_epochs(const std::atomic<bool>* stop);

 private:
  using clock = std::chrono::steady_clock;
  enum class Pause { kNo, kInterrupt, kLimit };  // Ctrl-C or SIGTERM; a step or time limit, or --profile
  void set_up_model();
  void set_up_data();
  void set_up_ranks();
  void resume_state();
  double run_step(const ShardedBatch& batch);
  double sum_gradients(const ShardedBatch& batch, double loss);
  double refuse_nonfinite(const std::string& what);
  Pause should_pause(const std::atomic<bool>* stop);
  bool root() const { return !o_.world || o_.world->is_root(); }
  int rank() const { return o_.world ? o_.world->rank() : 0; }
  int ranks() const { return o_.world ? o_.world->size() : 1; }
  void validate(int64_t epoch, int64_t next_batch, bool epoch_end, ProgressLine& progress);
  void keep_if_best(double loss, int64_t epoch, int64_t next_batch);
  void summarise();
  void save(const std::string& path, int64_t epoch, int64_t next_batch);
  void log_row(int64_t epoch, double valid_loss, double ppl, double bleu);
  void draw_curve();
  double minutes() const { return std::chrono::duration<double>(clock::now() - start_).count() / 60.0; }

  const TrainOptions& o_;
  std::ostream& log_;
  clock::time_point start_;
  std::unique_ptr<Seq2Seq> model_;
  text::Vocabulary src_vocab_, tgt_vocab_;
  Corpus train_, valid_;
  std::unique_ptr<text::Batcher> batcher_, valid_batcher_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  std::unique_ptr<optim::LrSchedule> schedule_;
  std::unique_ptr<MetricsLog> metrics_;
  std::unique_ptr<BatchLog> batch_log_;
  std::unique_ptr<dist::GradientReducer> reducer_;  // with more than one rank
  char step_text_[64] = "";
  std::vector<std::pair<double, double>> train_curve_, valid_curve_;
  TrainingState state_;
  int bad_epochs_ = 0;
  // The loss of best.safetensors. Early stopping compares epoch ends only
  // (state_.best_validation_loss); a validation at a time or step limit may
  // still replace best.safetensors, and this keeps it from being replaced by
  // a worse model later.
  double best_saved_loss_ = std::numeric_limits<double>::infinity();
  double train_seconds_ = 0, validate_seconds_ = 0, save_seconds_ = 0;
  int64_t tokens_trained_ = 0;
  double window_loss_ = 0;
  int64_t window_steps_ = 0, window_tokens_ = 0;
  clock::time_point window_start_ = clock::now();
  uint64_t seed_ = 0;  // the model's: batch order and dropout follow it, also on resume
  TrainResult result_;
};

void TrainingRun::set_up_model() {
  train_ = read_corpus(o_.train_path, o_.max_train_pairs);
  valid_ = read_corpus(o_.valid_path, 0);
  if (!o_.resume.empty()) {
    check_training_memory(read_model_config(o_.resume), o_, train_.tokens, valid_.tokens);
    LoadedModel loaded = load_model(o_.resume, {.allow_nonfinite = o_.resume_nonfinite});
    model_ = std::move(loaded.model);
    model_->set_matmul_precision(o_.model.matmul_precision);
    src_vocab_ = std::move(loaded.source_vocab);
    tgt_vocab_ = std::move(loaded.target_vocab);
    return;
  }
  src_vocab_ = text::Vocabulary::build(train_.tokens.sources, o_.vocab);
  tgt_vocab_ = text::Vocabulary::build(train_.tokens.targets, o_.vocab);
  Seq2SeqConfig config = o_.model;
  config.src_vocab = src_vocab_.size();
  config.tgt_vocab = tgt_vocab_.size();
  config.seed = o_.seed;
  const MemoryEstimate memory = check_training_memory(config, o_, train_.tokens, valid_.tokens);
  log_ << "memory: about " << memory.describe() << "\n";
  model_ = std::make_unique<Seq2Seq>(config);
  model_->init_parameters(o_.seed);
}

void TrainingRun::set_up_data() {
  text::BatcherOptions bo;
  bo.batch_size = o_.batch_size;
  bo.bucket_width = o_.bucket_width;
  bo.length_multiple = o_.length_multiple;
  seed_ = model_->config().seed;
  bo.seed = seed_;
  batcher_ = std::make_unique<text::Batcher>(text::encode_pairs(train_.tokens, src_vocab_, tgt_vocab_), bo);
  bo.shuffle = false;
  bo.batch_size = kValidationBatch;
  valid_batcher_ = std::make_unique<text::Batcher>(text::encode_pairs(valid_.tokens, src_vocab_, tgt_vocab_), bo);
  optimizer_ = optim::make_optimizer(o_.optimizer, model_->params());
  optim::ScheduleConfig sc = o_.schedule;
  if (sc.total_steps <= 0) sc.total_steps = o_.epochs * int64_t(batcher_->epoch_plan(0).size());
  schedule_ = std::make_unique<optim::LrSchedule>(sc);
  if (!o_.batch_log_path.empty() && root()) batch_log_ = std::make_unique<BatchLog>(o_.batch_log_path, model_->config());
}

// Every rank reads the checkpoint it resumes from; rank 0 alone touches the
// output folder.
void TrainingRun::resume_state() {
  if (root()) std::filesystem::create_directories(o_.out_dir);
  std::string csv = o_.out_dir + "/metrics.csv";
  if (o_.resume.empty()) {
    if (root()) std::filesystem::remove(csv);
    state_.best_validation_loss = std::numeric_limits<double>::infinity();
  } else {
    state_ = load_training_state(o_.resume);
    restore_optimizer_state(state_, *optimizer_, model_->params());
    restore_schedule_state(state_, *schedule_);
    auto it = state_.extra.find("early_stop_bad_epochs");
    bad_epochs_ = it == state_.extra.end() ? 0 : std::stoi(it->second);
    it = state_.extra.find("best_saved_loss");
    best_saved_loss_ = it == state_.extra.end() ? state_.best_validation_loss : std::stod(it->second);
    if (root()) read_curve(csv, train_curve_, valid_curve_);
    std::erase_if(train_curve_, [&](auto& p) { return p.first > double(state_.global_step); });
    std::erase_if(valid_curve_, [&](auto& p) { return p.first > double(state_.global_step); });
    log_ << "resuming " << o_.resume << " at epoch " << state_.epoch + 1 << ", batch " << state_.batch_index
         << ", step " << state_.global_step << "\n";
  }
  if (!root()) return;
  metrics_ = std::make_unique<MetricsLog>(csv, o_.resume.empty() ? std::nullopt
                                                                 : std::optional<int64_t>(state_.global_step));
}

// Checks that every rank set up the same run, gives them rank 0's weights and
// sums the gradients of each step from then on.
void TrainingRun::set_up_ranks() {
  if (ranks() == 1) return;
  ParameterStore& params = model_->params();
  const int64_t facts[] = {params.numel(), src_vocab_.size(), tgt_vocab_.size(), int64_t(train_.pairs.size()),
                           int64_t(valid_.pairs.size()), o_.batch_size, o_.epochs, int64_t(seed_),
                           state_.global_step};
  char text[240];
  std::snprintf(text, sizeof text,
                "%lld training and %lld validation pairs, vocabularies of %lld and %lld, %lld weights, step %lld",
                (long long)facts[3], (long long)facts[4], (long long)facts[1], (long long)facts[2],
                (long long)facts[0], (long long)facts[8]);
  check_same_setup(*o_.world, fingerprint_bytes(facts, sizeof facts), text);
  share_root_weights(*o_.world, params);
  reducer_ = std::make_unique<dist::GradientReducer>(*o_.world, params, o_.bucket_bytes);
  model_->set_gradient_listener([this](size_t entry) { reducer_->gradient_ready(entry); });
  std::snprintf(text, sizeof text,
                "data-parallel: %d ranks, about %lld pairs each per batch of %lld; %.3g MB of gradients summed in "
                "%zu buckets\n",
                ranks(), (long long)((o_.batch_size + ranks() - 1) / ranks()), (long long)o_.batch_size,
                double(params.numel()) * double(dtype_size(params.dtype())) / 1e6, reducer_->buckets());
  log_ << text;
}

// The first parameter whose gradient (or value) holds a NaN or infinity.
std::string first_nonfinite(ParameterStore& params, bool gradients) {
  std::vector<std::string> bad = params.nonfinite(gradients);
  return bad.empty() ? "" : bad.front();
}

// A step whose loss or gradient is not finite, before any update: with
// --on-nonfinite skip it counts as a step without an update (returns NaN);
// otherwise the run stops with the step named and the checkpoints untouched.
double TrainingRun::refuse_nonfinite(const std::string& what) {
  std::string where = "step " + std::to_string(state_.global_step + 1) + ": " + what;
  ++state_.global_step;
  if (o_.on_nonfinite == "skip") {
    ++result_.skipped_steps;
    log_ << where << "; update skipped (--on-nonfinite skip)\n";
    return std::numeric_limits<double>::quiet_NaN();
  }
  throw NonFiniteError(where + "; no update applied, and the last checkpoint is kept as it was. " +
                       (o_.clip_norm > 0 ? "Lower --lr" : "Lower --lr or limit the gradient norm with --clip 1") +
                       ", or pass --on-nonfinite skip to step over such batches");
}

// The ranks' weighted gradients and losses, summed: the gradient and loss of
// the mean over the global batch's tokens, the same on every rank.
double TrainingRun::sum_gradients(const ShardedBatch& batch, double loss) {
  std::snprintf(step_text_, sizeof step_text_, "step %lld: the gradient sum", (long long)state_.global_step + 1);
  reducer_->finish_step(step_text_);
  double weighted = batch.empty() ? 0.0 : loss * batch.weight();
  o_.world->sum(&weighted, 1, step_text_);
  return weighted;
}

// Returns the step's loss, or NaN when the update was skipped.
double TrainingRun::run_step(const ShardedBatch& batch) {
  ParameterStore& params = model_->params();
  // A step that compiles a plan is not what a profile is for: count only warm ones.
  const size_t plans_before = model_->cached_plans();
  model_->set_profiler(o_.profiler);
  // Each rank draws its own dropout masks; one process draws the same as ever.
  model_->set_dropout_step(uint64_t(state_.global_step) * uint64_t(ranks()) + uint64_t(rank()));
  if (reducer_) reducer_->begin_step(batch.weight());
  double loss = 0;
  if (batch.empty())
    params.zero_grads();  // a batch of fewer rows than ranks: this one adds nothing to the sum
  else
    loss = model_->train_step_gradients(batch.local);
  if (reducer_) loss = sum_gradients(batch, loss);
  if (!std::isfinite(loss)) return refuse_nonfinite("the training loss is " + std::to_string(loss));
  const auto update_start = StepProfiler::clock::now();
  const double norm = optim::clip_and_step(*optimizer_, params, o_.clip_norm, schedule_->lr(state_.global_step));
  if (!std::isfinite(norm))  // clip_and_step applied nothing
    return refuse_nonfinite("the gradient of '" + first_nonfinite(params, true) + "' is not finite");
  if (o_.profiler && model_->cached_plans() == plans_before) {
    const std::string label = "optimizer: clip + " + o_.optimizer.kind;
    o_.profiler->record_outside(label, update_start, StepProfiler::clock::now());
    o_.profiler->count_iteration();
  }
  ++state_.global_step;
  return loss;
}

// Ranks agree before every step, so that all stop at the same one even when
// a signal or a clock reached only some of them.
TrainingRun::Pause TrainingRun::should_pause(const std::atomic<bool>* stop) {
  double wanted[2] = {stop && stop->load() ? 1.0 : 0.0, 0.0};
  if ((o_.profiler && o_.profiler->iterations() >= o_.profile_steps) ||
      (o_.max_steps > 0 && state_.global_step >= o_.max_steps) ||
      (o_.max_minutes > 0 && minutes() >= o_.max_minutes))
    wanted[1] = 1.0;
  if (o_.world) o_.world->sum(wanted, 2, "agreeing whether to stop before the next step");
  return wanted[0] > 0 ? Pause::kInterrupt : wanted[1] > 0 ? Pause::kLimit : Pause::kNo;
}

void TrainingRun::save(const std::string& path, int64_t epoch, int64_t next_batch) {
  const auto began = clock::now();
  // A model with a NaN or infinity could never be resumed: keep the file
  // that is there instead.
  if (std::string bad = first_nonfinite(model_->params(), false); !bad.empty())
    throw NonFiniteError("step " + std::to_string(state_.global_step) + ": parameter '" + bad +
                         "' is no longer finite; " + path + " is kept as it was. Lower --lr");
  state_.epoch = epoch;
  state_.batch_index = next_batch;
  state_.rng_state = "seed=" + std::to_string(seed_);
  state_.extra["early_stop_bad_epochs"] = std::to_string(bad_epochs_);
  char best[40];
  std::snprintf(best, sizeof best, "%.17g", best_saved_loss_);
  state_.extra["best_saved_loss"] = best;
  result_.checkpoint = path;
  if (!root()) return;
  capture_optimizer_state(state_, *optimizer_, model_->params());
  capture_schedule_state(state_, *schedule_);
  // The model and its state as one unit: a kill at any instant leaves a pair that resumes.
  save_checkpoint_with_state(
      path, [&](const std::string& staged) { save_model(staged, *model_, src_vocab_, tgt_vocab_); }, state_);
  result_.checkpoint = path;
  save_seconds_ += std::chrono::duration<double>(clock::now() - began).count();
}

void TrainingRun::log_row(int64_t epoch, double valid_loss, double ppl, double bleu) {
  double train_loss = window_steps_ ? window_loss_ / double(window_steps_) : kNaN;
  double window_secs = std::chrono::duration<double>(clock::now() - window_start_).count();
  try {
    if (metrics_)
      metrics_->append({epoch, state_.global_step, train_loss, valid_loss, ppl, bleu, schedule_->lr(state_.global_step),
                        window_secs > 0 ? double(window_tokens_) / window_secs : kNaN, minutes() * 60.0});
  } catch (const MetricsError& e) {
    log_ << "warning: a metrics row was not written: " << e.what() << "\n";
  }
  if (window_steps_) train_curve_.emplace_back(double(state_.global_step), train_loss);
  if (!std::isnan(valid_loss)) valid_curve_.emplace_back(double(state_.global_step), valid_loss);
  window_loss_ = 0;
  window_steps_ = 0;
  window_tokens_ = 0;
  window_start_ = clock::now();
}

// The curve is a picture: failing to draw it (a full disk, a folder gone)
// is reported and training goes on to its checkpoints.
void TrainingRun::draw_curve() {
  if (!root()) return;
  std::vector<PlotSeries> series;
  if (!train_curve_.empty()) series.push_back({"train", train_curve_});
  if (!valid_curve_.empty()) series.push_back({"validation", valid_curve_});
  if (series.empty()) return;
  try {
    line_chart(o_.out_dir + "/loss.svg", "Loss", "step", "cross-entropy (nats/token)", series);
  } catch (const PlotError& e) {
    log_ << "warning: the loss curve was not drawn: " << e.what() << "\n";
  }
}

// At an epoch's end the validation also drives early stopping and the
// plateau schedule; at a time or step limit it only reports and may keep the
// model as best.safetensors, so that a resumed run replays the same epochs.
void TrainingRun::validate(int64_t epoch, int64_t next_batch, bool epoch_end, ProgressLine& progress) {
  const auto began = clock::now();
  // Each rank scores its share of the batches; rank 0 alone translates for BLEU.
  EvalResult eval;
  const std::vector<text::Batch> batches = valid_batcher_->epoch(0);
  for (size_t i = size_t(rank()); i < batches.size(); i += size_t(ranks()))
    eval += model_->evaluate_batch(batches[i]);
  if (o_.world) eval = sum_over_ranks(*o_.world, eval);
  Decoder decoder(*model_);
  std::vector<Tokens> hyps, refs;
  int64_t n = root() ? std::min<int64_t>(o_.bleu_sentences, int64_t(valid_.pairs.size())) : 0;
  for (int64_t i = 0; i < n; ++i) {
    Translation t = decoder.greedy(src_vocab_.encode(valid_.tokens.sources[size_t(i)]));
    hyps.push_back(tgt_vocab_.decode(t.tokens));
    refs.push_back(valid_.tokens.targets[size_t(i)]);
  }
  double bleu = n ? corpus_bleu(hyps, refs).bleu : kNaN;
  double loss = eval.loss(), ppl = perplexity(loss);
  char line[200];
  std::snprintf(line, sizeof line, "%s %lld  valid loss %.4f  ppl %.2f  accuracy %.1f%%  BLEU %.1f",
                epoch_end ? "epoch" : "stopped in epoch", (long long)epoch + 1, loss, ppl, 100 * eval.accuracy(),
                bleu);
  progress.message(line);
  log_row(epoch + 1, loss, ppl, bleu);
  draw_curve();
  result_.last_valid_bleu = bleu;
  validate_seconds_ += std::chrono::duration<double>(clock::now() - began).count();
  if (epoch_end) {
    if (std::isfinite(state_.best_validation_loss) && !(loss <= 2 * state_.best_validation_loss)) {
      std::snprintf(line, sizeof line,
                    "warning: validation loss %.4f is more than twice the best, %.4f: training is diverging "
                    "(lower --lr; --patience stops such a run)",
                    loss, state_.best_validation_loss);
      progress.message(line);
    }
    schedule_->observe_validation(loss);
    if (loss < state_.best_validation_loss) {
      state_.best_validation_loss = loss;
      bad_epochs_ = 0;
    } else {
      ++bad_epochs_;
    }
  }
  keep_if_best(loss, epoch, next_batch);
}

void TrainingRun::keep_if_best(double loss, int64_t epoch, int64_t next_batch) {
  if (!(loss < best_saved_loss_)) return;
  best_saved_loss_ = loss;
  result_.best_valid_loss = std::min(result_.best_valid_loss, loss);
  save(o_.out_dir + "/best.safetensors", next_batch == 0 ? epoch + 1 : epoch, next_batch);
}

// One line on where the time went, so a slow run can be told from a short one.
void TrainingRun::summarise() {
  if (train_seconds_ <= 0) return;
  const double per_epoch = double(batcher_->epoch_plan(0).size());
  char line[300];
  std::snprintf(line, sizeof line,
                "time: training %s for %lld steps (%.2f epochs, %.0f target tokens/s), validation %s, "
                "checkpoints %s\n",
                format_duration(train_seconds_).c_str(), (long long)result_.step_losses.size(),
                double(result_.step_losses.size()) / per_epoch, double(tokens_trained_) / train_seconds_,
                format_duration(validate_seconds_).c_str(), format_duration(save_seconds_).c_str());
  log_ << line;
  if (!reducer_) return;
  result_.allreduce_wait_seconds = reducer_->wait_seconds();
  std::snprintf(line, sizeof line,
                "data-parallel: %d ranks; waiting for gradient sums %.2f ms per step (%.1f%% of training)\n", ranks(),
                1e3 * reducer_->wait_seconds() / double(result_.step_losses.size()),
                100 * reducer_->wait_seconds() / train_seconds_);
  log_ << line;
}

TrainResult TrainingRun::run(const std::atomic<bool>* stop) {
  set_up_model();
  model_->set_compile_options({.deterministic = o_.deterministic});
  set_up_data();
  resume_state();
  set_up_ranks();
  result_.best_valid_loss = std::numeric_limits<double>::infinity();
  train_epochs(stop);
  summarise();
  result_.global_step = state_.global_step;
  result_.best_valid_loss = std::min(result_.best_valid_loss, state_.best_validation_loss);
  return result_;
}

TrainResult TrainingRun::train_epochs(const std::atomic<bool>* stop) {
  const int64_t per_epoch = int64_t(batcher_->epoch_plan(0).size());
  ProgressOptions po{o_.epochs, per_epoch, state_.global_step, is_terminal(stderr)};
  po.time_limit_s = o_.max_minutes > 0 ? o_.max_minutes * 60.0 - minutes() * 60.0 : 0.0;
  po.rate_time_constant_s = 30;  // a shared machine's bursts should not swing the ETA
  ProgressLine progress(log_, po);
  const std::string last = o_.out_dir + "/last.safetensors";
  for (int64_t epoch = state_.epoch; epoch < o_.epochs; ++epoch) {
    std::vector<std::vector<int64_t>> plan = batcher_->epoch_plan(uint64_t(epoch));
    int64_t first = epoch == state_.epoch ? state_.batch_index : 0;
    for (int64_t b = first; b < int64_t(plan.size()); ++b) {
      if (const Pause pause = should_pause(stop); pause != Pause::kNo) {
        // A time or step limit ends a planned run: score what it reached.
        // Ctrl-C wants out now and skips this.
        if (pause == Pause::kLimit && b > first) validate(epoch, b, false, progress);
        progress.finish();
        save(last, epoch, b);
        log_ << "stopped at step " << state_.global_step << "; resume with --resume " << last << "\n";
        result_.interrupted = true;
        return result_;
      }
      const ShardedBatch batch = shard_batch(*batcher_, plan[size_t(b)], rank(), ranks());
      if (batch_log_) batch_log_->write(batch.local);
      const auto began = clock::now();
      double loss = run_step(batch);
      train_seconds_ += std::chrono::duration<double>(clock::now() - began).count();
      tokens_trained_ += batch.global_tokens;
      result_.step_losses.push_back(loss);
      if (std::isfinite(loss)) {
        window_loss_ += loss;
        ++window_steps_;
        window_tokens_ += batch.global_tokens;
        progress.update(epoch + 1, b + 1, loss, batch.global_tokens);
      }
      if (o_.log_every > 0 && state_.global_step % o_.log_every == 0) log_row(epoch + 1, kNaN, kNaN, kNaN);
    }
    validate(epoch, 0, true, progress);
    save(last, epoch + 1, 0);
    if (o_.patience > 0 && bad_epochs_ >= o_.patience) {
      progress.message("early stop: no better validation loss for " + std::to_string(bad_epochs_) + " epochs");
      result_.stopped_early = true;
      break;
    }
  }
  progress.finish();
  return result_;
}

}  // namespace

TrainResult train(const TrainOptions& options, std::ostream& log, const std::atomic<bool>* stop) {
  std::optional<OutputFolderClaim> folder;
  if (!options.world || options.world->is_root())
    folder.emplace(options.out_dir, !options.resume.empty(), options.overwrite, log);
  TrainingRun run(options, log);
  return run.run(stop);
}

}  // namespace loom::models
