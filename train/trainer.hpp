// Training any registered model (runtime/model_family.hpp): its data ->
// batches -> forward/backward through the model's runtime, clipping and an
// optimiser update, with validation (loss, perplexity and the model's own
// metrics) each epoch, early stopping, a metrics CSV and an SVG loss curve,
// and checkpoints every epoch and on request (Ctrl-C, a step or time limit).
// Resuming from a checkpoint replays exactly the run that was never stopped:
// the same batches, dropout masks, optimiser state and learning rates, so the
// same losses step for step. Nothing here knows one model.
#pragma once
#include <atomic>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

#include "distributed/world.hpp"
#include "graph/precision.hpp"
#include "graph/profiler.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"
#include "runtime/model_family.hpp"

namespace loom::train {

struct TrainOptions {
  std::string model;  // a registered model ("": the translator, or on --resume the checkpoint's)
  runtime::OptionValues model_options;    // the family's own options, defaults filled in
  // The model options given on the command line: on --resume, one that
  // contradicts the checkpoint's config is refused (OptionConflict).
  std::vector<std::string> explicit_model_options;
  std::string train_path, valid_path;     // "": the family's bundled data
  std::string out_dir = "out/train";      // last.safetensors, best.safetensors, metrics.csv, loss.svg
  std::string resume;                     // a checkpoint to continue from ("" = start afresh)
  bool overwrite = false;                 // a new run may replace an earlier run's files in out_dir
  int64_t epochs = 10;
  int64_t batch_size = 32;
  uint64_t seed = 1;  // data order, initialisation and dropout
  MatmulPrecision precision = MatmulPrecision::F32;
  optim::OptimizerConfig optimizer;
  optim::ScheduleConfig schedule;
  double clip_norm = 1.0;       // 0 = no clipping
  int patience = 3;             // epochs without a better validation loss before stopping; 0 = never
  int64_t max_steps = 0;        // stop with a checkpoint after this many steps in all; 0 = no limit
  double max_minutes = 0;       // stop with a checkpoint after this long; 0 = no limit
  int64_t log_every = 50;       // steps per metrics row
  std::string batch_log_path;   // --log-batches: every training batch as JSON lines (train/batch_log.hpp); rank 0's share under MPI
  // loom train --profile: time this many steps whose plans are warm, then stop.
  StepProfiler* profiler = nullptr;
  int64_t profile_steps = 0;
  // A step whose loss or gradient is not finite: "stop" (throw NonFiniteError,
  // the last checkpoint untouched) or "skip" (no update; training goes on).
  std::string on_nonfinite = "stop";
  // Resume from weights holding NaN or infinity instead of refusing them
  // (with on_nonfinite "skip", the batches they spoil are stepped over).
  bool resume_nonfinite = false;
  // Refuse to start when the memory estimate (train/memory_estimate.hpp)
  // exceeds this many bytes (0: only MemAvailable limits it).
  uint64_t max_memory = 0;
  // Losses and weights bitwise the same on any number of threads
  // (CompileOptions::deterministic), at some cost in speed.
  bool deterministic = false;
  // The ranks of a data-parallel job (docs/DISTRIBUTED.md); null = one
  // process. Each rank trains on its share of every batch_size batch; rank 0
  // alone writes the output folder.
  distributed::World* world = nullptr;
  int64_t bucket_bytes = 4 << 20;  // gradient buckets summed while backward runs
};

// Training met a NaN or infinity: the message names the step and the loss or
// the parameter whose gradient or value went bad.
struct NonFiniteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An explicit model option contradicts the checkpoint a run resumes: the
// message names the option and both values (a usage error: exit 2).
struct OptionConflict : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

struct TrainResult {
  std::string model;                // the kind trained
  std::vector<double> step_losses;  // the losses of the steps this call ran, in order
  int64_t global_step = 0;
  bool stopped_early = false;   // patience ran out
  bool interrupted = false;     // stop flag, max_steps or max_minutes
  int64_t skipped_steps = 0;    // updates skipped for a non-finite loss or gradient (--on-nonfinite skip)
  double best_valid_loss = 0;
  std::vector<runtime::Metric> last_metrics;  // of the last validation (the model's own: BLEU, bpc, ...)
  std::string checkpoint;       // the last checkpoint written; "" when none was
  double allreduce_wait_seconds = 0;  // waiting for gradient sums that backward did not hide
};

// Throws (TextError, CheckpointError, OptionConflict, std::invalid_argument)
// with the file or option at fault; OutputFolderBusy or OutputFolderNotEmpty
// (train/output_folder.hpp) before anything else when out_dir is taken.
// `stop` may be null; when it turns true the run checkpoints after the
// current step and returns.
TrainResult train_model(const TrainOptions& options, std::ostream& log, const std::atomic<bool>* stop = nullptr);

// The model options of `explicit_options` whose value contradicts the
// checkpoint's config (architecture options only), as "--hidden 64 (the
// checkpoint has 32)"; empty when none does.
std::vector<std::string> conflicting_options(const runtime::ModelFamily& family, const runtime::OptionValues& values,
                                             const std::vector<std::string>& explicit_options,
                                             const std::map<std::string, std::string>& checkpoint_config);

}  // namespace loom::train
