// Training the translator: data → vocabularies → batches → Seq2Seq → steps
// of forward/backward, clipping and an optimiser update, with validation
// (loss, perplexity, accuracy, BLEU) each epoch, early stopping, a metrics
// CSV and an SVG loss curve, and checkpoints every epoch and on request
// (Ctrl-C, a step or time limit). Resuming from a checkpoint replays exactly
// the run that was never stopped: the same batches, dropout masks, optimiser
// state and learning rates, so the same losses step for step.
#pragma once
#include <atomic>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

#include "dist/world.hpp"
#include "graph/profiler.hpp"
#include "models/seq2seq.hpp"
#include "text/vocabulary.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"

namespace loom::models {

// Rows of a validation batch (corpus order, no shuffling).
inline constexpr int64_t kValidationBatch = 64;

struct TrainOptions {
  std::string train_path = "data/en-es/train.tsv";
  std::string valid_path = "data/en-es/valid.tsv";
  std::string out_dir = "out/train";  // last.safetensors, best.safetensors, metrics.csv, loss.svg
  std::string resume;                 // a checkpoint to continue from ("" = start afresh)
  bool overwrite = false;             // a new run may replace an earlier run's files in out_dir
  Seq2SeqConfig model;                // vocabulary sizes are set from the data
  text::VocabularyOptions vocab;
  int64_t epochs = 10;
  int64_t batch_size = 32;
  int64_t bucket_width = 2;
  int64_t length_multiple = 8;  // pad S and T up to a multiple: fewer shapes, fewer compiled plans
  uint64_t seed = 1;  // data order, initialisation and dropout
  optim::OptimizerConfig optimizer;
  optim::ScheduleConfig schedule;
  double clip_norm = 1.0;       // 0 = no clipping
  int patience = 3;             // epochs without a better validation loss before stopping; 0 = never
  int64_t max_steps = 0;        // stop with a checkpoint after this many steps in all; 0 = no limit
  double max_minutes = 0;       // stop with a checkpoint after this long; 0 = no limit
  int64_t max_train_pairs = 0;  // only the first N training pairs; 0 = all
  int64_t bleu_sentences = 200; // validation sentences decoded for BLEU each epoch
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
  dist::World* world = nullptr;
  int64_t bucket_bytes = 4 << 20;  // gradient buckets summed while backward runs
};

// Training met a NaN or infinity: the message names the step and the loss or
// the parameter whose gradient or value went bad.
struct NonFiniteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct TrainResult {
  std::vector<double> step_losses;  // the losses of the steps this call ran, in order
  int64_t global_step = 0;
  bool stopped_early = false;   // patience ran out
  bool interrupted = false;     // stop flag, max_steps or max_minutes
  int64_t skipped_steps = 0;    // updates skipped for a non-finite loss or gradient (--on-nonfinite skip)
  double best_valid_loss = 0;
  double last_valid_bleu = 0;
  std::string checkpoint;       // the last checkpoint written
  double allreduce_wait_seconds = 0;  // waiting for gradient sums that backward did not hide
};

// Throws (TextError, CheckpointError, std::invalid_argument) with the file or
// option at fault; OutputFolderBusy or OutputFolderNotEmpty (train/output_folder.hpp)
// before anything else when out_dir is taken. `stop` may be null; when it turns true the run checkpoints
// after the current step and returns.
TrainResult train(const TrainOptions& options, std::ostream& log, const std::atomic<bool>* stop = nullptr);

}  // namespace loom::models
