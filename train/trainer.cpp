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
#include <algorithm>
#include <fstream>
#include <map>
#include <limits>
#include <optional>
#include <ostream>
#include <sstream>

#include "distributed/gradient_reducer.hpp"
#include "io/checkpoint.hpp"
#include "io/training_state.hpp"
#include "train/batch_log.hpp"
#include "train/data_parallel.hpp"
#include "train/divergence.hpp"
#include "train/memory_estimate.hpp"
#include "train/metrics.hpp"
#include "train/output_folder.hpp"
#include "train/progress.hpp"
#include "train/svg_plot.hpp"

namespace loom::train {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

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
  void start_model(const runtime::ModelFamily& family);
  void resume_model(const runtime::ModelFamily& family);
  void check_plan_memory();
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
  // metrics: one value per logged model metric, or none (a training row).
  void log_row(int64_t epoch, double valid_loss, double ppl, const std::vector<double>& metrics = {});
  runtime::Evaluation evaluate();
  void draw_curve();
  double minutes() const { return std::chrono::duration<double>(clock::now() - start_).count() / 60.0; }

  const TrainOptions& o_;
  std::ostream& log_;
  clock::time_point start_;
  std::unique_ptr<runtime::Model> model_;
  runtime::RunRequest request_;
  std::unique_ptr<runtime::Dataset> train_data_, valid_data_;
  std::vector<std::string> metric_columns_;  // the model's metrics logged to metrics.csv
  MemoryEstimate memory_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  std::unique_ptr<optim::LrSchedule> schedule_;
  std::unique_ptr<MetricsLog> metrics_;
  std::unique_ptr<BatchLog> batch_log_;
  std::unique_ptr<distributed::GradientReducer> reducer_;  // with more than one rank
  char step_text_[64] = "";
  std::vector<std::pair<double, double>> train_curve_, valid_curve_;
  io::TrainingState state_;
  int bad_epochs_ = 0;
  // The loss of best.safetensors. Early stopping compares epoch ends only
  // (state_.best_validation_loss); a validation at a time or step limit may
  // still replace best.safetensors, and this keeps it from being replaced by
  // a worse model later.
  double best_saved_loss_ = std::numeric_limits<double>::infinity();
  double first_valid_loss_ = kNaN;  // the divergence rule compares with the start
  double train_seconds_ = 0, validate_seconds_ = 0, save_seconds_ = 0;
  int64_t tokens_trained_ = 0;
  double window_loss_ = 0;
  int64_t window_steps_ = 0, window_tokens_ = 0;
  clock::time_point window_start_ = clock::now();
  uint64_t seed_ = 0;  // the model's: batch order and dropout follow it, also on resume
  TrainResult result_;
};

// The model option's key in a saved config: --label-smoothing -> label_smoothing.
std::string config_key(const std::string& option) {
  std::string key = option;
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

// Two option texts name the same value: "32" and "32", or "0.1" and "0.10000000000000001".
bool same_value(const std::string& a, const std::string& b) {
  if (a == b) return true;
  double x = 0, y = 0;
  const char* a_end = a.data() + a.size();
  const char* b_end = b.data() + b.size();
  return std::from_chars(a.data(), a_end, x).ptr == a_end && std::from_chars(b.data(), b_end, y).ptr == b_end &&
         !a.empty() && !b.empty() && x == y;
}

void TrainingRun::set_up_model() {
  request_.train_path = o_.train_path;
  request_.valid_path = o_.valid_path;
  request_.options = o_.model_options;
  request_.batch_size = o_.batch_size;
  request_.seed = o_.seed;
  request_.precision = o_.precision;
  if (o_.resume.empty()) {
    const runtime::ModelFamily family = runtime::model_registry().make(o_.model.empty() ? "seq2seq" : o_.model);
    start_model(family);
  } else {
    const std::string kind = runtime::checkpoint_model_kind(io::read_checkpoint_info(o_.resume));
    const runtime::ModelFamily family = runtime::model_registry().make(kind);
    resume_model(family);
  }
  result_.model = model_->kind();
  model_->runtime().set_matmul_precision(o_.precision);
}

void TrainingRun::start_model(const runtime::ModelFamily& family) {
  if (request_.train_path.empty()) request_.train_path = family.default_train;
  if (request_.valid_path.empty()) request_.valid_path = family.default_valid;
  const runtime::ModelBlueprint blueprint = family.describe(request_);
  // Parameters far too big are refused before they are allocated.
  memory_ = estimate_parameter_memory(blueprint.parameter_shapes, DType::F32, o_.optimizer);
  memory_.process = resident_memory_bytes();
  check_memory(memory_, o_.max_memory, available_memory_bytes());
  model_ = blueprint.build();
  model_->init_parameters(o_.seed);
  train_data_ = family.open_data(*model_, request_.train_path, request_, true);
  valid_data_ = family.open_data(*model_, request_.valid_path, request_, false);
}

void TrainingRun::resume_model(const runtime::ModelFamily& family) {
  if (request_.train_path.empty()) request_.train_path = family.default_train;
  if (request_.valid_path.empty()) request_.valid_path = family.default_valid;
  runtime::LoadedModel loaded = runtime::load_model(o_.resume, {.allow_nonfinite = o_.resume_nonfinite});
  const std::map<std::string, std::string> config = loaded.model->config();
  if (!o_.model.empty() && o_.model != loaded.kind)
    throw OptionConflict("--resume " + o_.resume + ": --model " + o_.model + " contradicts the checkpoint, which holds a '" +
                         loaded.kind + "' model");
  const std::vector<std::string> conflicts =
      conflicting_options(family, o_.model_options, o_.explicit_model_options, config);
  if (!conflicts.empty())
    throw OptionConflict("--resume " + o_.resume + ": " + conflicts.front() +
                         "; a resumed model keeps its architecture (drop the option, or start afresh)");
  // Batch order and dropout follow the seed the model was first trained with.
  if (auto seed = config.find("seed"); seed != config.end()) request_.seed = std::stoull(seed->second);
  model_ = std::move(loaded.model);
  train_data_ = family.open_data(*model_, request_.train_path, request_, true);
  valid_data_ = family.open_data(*model_, request_.valid_path, request_, false);
  std::vector<std::pair<std::string, Shape>> shapes;
  for (const ParameterStore::Entry& e : model_->params().entries()) shapes.emplace_back(e.name, e.shape);
  memory_ = estimate_parameter_memory(shapes, model_->params().dtype(), o_.optimizer);
  memory_.process = resident_memory_bytes();
}

// The plans every batch shape of the run compiles, against --max-memory and
// MemAvailable: a run that would not fit is refused before its first step.
void TrainingRun::check_plan_memory() {
  add_plan_memory(memory_, *model_, {train_data_.get(), valid_data_.get(), o_.epochs, o_.max_steps});
  check_memory(memory_, o_.max_memory, available_memory_bytes());
  log_ << "memory: about " << memory_.describe() << "\n";
}

void TrainingRun::set_up_data() {
  seed_ = request_.seed;
  optimizer_ = optim::make_optimizer(o_.optimizer, model_->params());
  optim::ScheduleConfig sc = o_.schedule;
  if (sc.total_steps <= 0) sc.total_steps = o_.epochs * int64_t(train_data_->epoch_plan(0).size());
  schedule_ = std::make_unique<optim::LrSchedule>(sc);
  if (!o_.batch_log_path.empty() && root()) batch_log_ = std::make_unique<BatchLog>(o_.batch_log_path, model_->config());
  for (const std::string& name : model_->logged_metrics()) metric_columns_.push_back("valid_" + name);
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
    state_ = io::load_training_state(o_.resume);
    io::restore_optimizer_state(state_, *optimizer_, model_->params());
    io::restore_schedule_state(state_, *schedule_);
    auto it = state_.extra.find("early_stop_bad_epochs");
    bad_epochs_ = it == state_.extra.end() ? 0 : std::stoi(it->second);
    it = state_.extra.find("best_saved_loss");
    best_saved_loss_ = it == state_.extra.end() ? state_.best_validation_loss : std::stod(it->second);
    it = state_.extra.find("first_valid_loss");
    if (it != state_.extra.end()) first_valid_loss_ = std::strtod(it->second.c_str(), nullptr);
    if (root()) read_curve(csv, train_curve_, valid_curve_);
    std::erase_if(train_curve_, [&](auto& p) { return p.first > double(state_.global_step); });
    std::erase_if(valid_curve_, [&](auto& p) { return p.first > double(state_.global_step); });
    log_ << "resuming " << o_.resume << " at epoch " << state_.epoch + 1 << ", batch " << state_.batch_index
         << ", step " << state_.global_step << "\n";
  }
  if (!root()) return;
  metrics_ = std::make_unique<MetricsLog>(
      csv, o_.resume.empty() ? std::nullopt : std::optional<int64_t>(state_.global_step), metric_columns_);
}

// Checks that every rank set up the same run, gives them rank 0's weights and
// sums the gradients of each step from then on.
void TrainingRun::set_up_ranks() {
  if (ranks() == 1) return;
  ParameterStore& params = model_->params();
  const std::string metadata = io::config_to_json(model_->metadata());
  const int64_t facts[] = {params.numel(),
                           train_data_->examples(),
                           valid_data_->examples(),
                           o_.batch_size,
                           o_.epochs,
                           int64_t(seed_),
                           state_.global_step,
                           int64_t(fingerprint_bytes(metadata.data(), metadata.size()))};
  char text[240];
  std::snprintf(text, sizeof text, "a %s model of %lld weights, %s, %s, step %lld", model_->kind().c_str(),
                (long long)facts[0], train_data_->describe().c_str(), valid_data_->describe().c_str(),
                (long long)facts[6]);
  check_same_setup(*o_.world, fingerprint_bytes(facts, sizeof facts), text);
  share_root_weights(*o_.world, params);
  reducer_ = std::make_unique<distributed::GradientReducer>(*o_.world, params, o_.bucket_bytes);
  model_->runtime().set_gradient_listener([this](size_t entry) { reducer_->gradient_ready(entry); });
  std::snprintf(text, sizeof text,
                "data-parallel: %d ranks, about %lld examples each per batch of %lld; %.3g MB of gradients summed in "
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
  runtime::PlanRuntime& runtime = model_->runtime();
  const size_t plans_before = runtime.cached_plans();
  runtime.set_profiler(o_.profiler);
  // Each rank draws its own dropout masks; one process draws the same as ever.
  runtime.set_run_index(uint64_t(state_.global_step) * uint64_t(ranks()) + uint64_t(rank()));
  if (reducer_) reducer_->begin_step(batch.weight());
  double loss = 0;
  if (batch.empty())
    params.zero_grads();  // a batch of fewer rows than ranks: this one adds nothing to the sum
  else
    loss = model_->train_step(*batch.local);
  if (reducer_) loss = sum_gradients(batch, loss);
  if (!std::isfinite(loss)) return refuse_nonfinite("the training loss is " + std::to_string(loss));
  const auto update_start = StepProfiler::clock::now();
  const double norm = optim::clip_and_step(*optimizer_, params, o_.clip_norm, schedule_->lr(state_.global_step));
  if (!std::isfinite(norm))  // clip_and_step applied nothing
    return refuse_nonfinite("the gradient of '" + first_nonfinite(params, true) + "' is not finite");
  if (o_.profiler && runtime.cached_plans() == plans_before) {
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
  std::snprintf(best, sizeof best, "%.17g", first_valid_loss_);
  state_.extra["first_valid_loss"] = best;
  result_.checkpoint = path;
  if (!root()) return;
  io::capture_optimizer_state(state_, *optimizer_, model_->params());
  io::capture_schedule_state(state_, *schedule_);
  // The model and its state as one unit: a kill at any instant leaves a pair that resumes.
  io::save_checkpoint_with_state(
      path, [&](const std::string& staged) { runtime::save_model(staged, *model_); }, state_);
  result_.checkpoint = path;
  save_seconds_ += std::chrono::duration<double>(clock::now() - began).count();
}

void TrainingRun::log_row(int64_t epoch, double valid_loss, double ppl, const std::vector<double>& metrics) {
  double train_loss = window_steps_ ? window_loss_ / double(window_steps_) : kNaN;
  double window_secs = std::chrono::duration<double>(clock::now() - window_start_).count();
  try {
    if (metrics_)
      metrics_->append({epoch, state_.global_step, train_loss, valid_loss, ppl,
                        metrics.empty() ? std::vector<double>(metric_columns_.size(), kNaN) : metrics,
                        schedule_->lr(state_.global_step),
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
// Each rank scores its share of the validation batches; the sums are the same on every rank.
runtime::Evaluation TrainingRun::evaluate() {
  runtime::Evaluation eval = runtime::evaluate_dataset(*model_, *valid_data_, size_t(rank()), size_t(ranks()));
  if (o_.world) eval = sum_over_ranks(*o_.world, eval, model_->evaluation_counts());
  return eval;
}

void TrainingRun::validate(int64_t epoch, int64_t next_batch, bool epoch_end, ProgressLine& progress) {
  const auto began = clock::now();
  const runtime::Evaluation eval = evaluate();
  // Rank 0 alone decodes or generates, if the model's metrics need it.
  const std::vector<runtime::Metric> metrics = model_->metrics(eval, *valid_data_, root());
  const double loss = eval.loss(), ppl = runtime::perplexity(loss);
  char head[120];
  std::snprintf(head, sizeof head, "%s %lld  valid loss %.4f  ppl %.2f", epoch_end ? "epoch" : "stopped in epoch",
                (long long)epoch + 1, loss, ppl);
  std::string line = head;
  for (const runtime::Metric& m : metrics) line += "  " + m.text;
  progress.message(line);
  std::vector<double> logged;
  for (const std::string& name : model_->logged_metrics()) {
    auto it = std::find_if(metrics.begin(), metrics.end(), [&](const runtime::Metric& m) { return m.name == name; });
    logged.push_back(it == metrics.end() ? kNaN : it->value);
  }
  log_row(epoch + 1, loss, ppl, logged);
  draw_curve();
  result_.last_metrics = metrics;
  validate_seconds_ += std::chrono::duration<double>(clock::now() - began).count();
  if (std::isnan(first_valid_loss_)) first_valid_loss_ = loss;
  if (epoch_end) {
    if (train::looks_diverging(loss, state_.best_validation_loss, first_valid_loss_)) {
      char warning[200];
      std::snprintf(warning, sizeof warning,
                    "warning: validation loss %.4f against the best %.4f and %.4f at the start: training is "
                    "diverging (lower --lr; --patience stops such a run)",
                    loss, state_.best_validation_loss, first_valid_loss_);
      progress.message(warning);
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
  const double per_epoch = double(train_data_->epoch_plan(0).size());
  char line[300];
  std::snprintf(line, sizeof line,
                "time: training %s for %lld steps (%.2f epochs, %.0f tokens/s), validation %s, "
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
  model_->runtime().set_compile_options({.deterministic = o_.deterministic});
  set_up_data();
  check_plan_memory();
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
  const int64_t per_epoch = int64_t(train_data_->epoch_plan(0).size());
  ProgressOptions po{o_.epochs, per_epoch, state_.global_step, is_terminal(stderr)};
  po.time_limit_s = o_.max_minutes > 0 ? o_.max_minutes * 60.0 - minutes() * 60.0 : 0.0;
  po.rate_time_constant_s = 30;  // a shared machine's bursts should not swing the ETA
  ProgressLine progress(log_, po);
  const std::string last = o_.out_dir + "/last.safetensors";
  for (int64_t epoch = state_.epoch; epoch < o_.epochs; ++epoch) {
    std::vector<std::vector<int64_t>> plan = train_data_->epoch_plan(uint64_t(epoch));
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
      const ShardedBatch batch = shard_batch(*train_data_, plan[size_t(b)], rank(), ranks());
      if (batch_log_ && !batch.empty()) batch_log_->write(*batch.local);
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
      if (o_.log_every > 0 && state_.global_step % o_.log_every == 0) log_row(epoch + 1, kNaN, kNaN);
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

TrainResult train_model(const TrainOptions& options, std::ostream& log, const std::atomic<bool>* stop) {
  std::optional<OutputFolderClaim> folder;
  if (!options.world || options.world->is_root())
    folder.emplace(options.out_dir, !options.resume.empty(), options.overwrite, log);
  TrainingRun run(options, log);
  return run.run(stop);
}

std::vector<std::string> conflicting_options(const runtime::ModelFamily& family, const runtime::OptionValues& values,
                                             const std::vector<std::string>& explicit_options,
                                             const std::map<std::string, std::string>& checkpoint_config) {
  std::vector<std::string> conflicts;
  for (const runtime::OptionSpec& spec : family.options) {
    if (!spec.architecture) continue;
    if (std::find(explicit_options.begin(), explicit_options.end(), spec.name) == explicit_options.end()) continue;
    auto saved = checkpoint_config.find(config_key(spec.name));
    auto given = values.find(spec.name);
    if (saved == checkpoint_config.end() || given == values.end()) continue;
    if (!same_value(saved->second, given->second))
      conflicts.push_back("--" + spec.name + " " + given->second + " contradicts the checkpoint, whose " +
                          saved->first + " is " + saved->second);
  }
  return conflicts;
}

}  // namespace loom::train
