// `loom train`: trains any registered model (train/trainer.hpp), the
// translator by default or the one --model names, with a live progress
// line, validation each epoch, checkpoints every epoch and on Ctrl-C, and
// --resume to continue exactly. The model's own options come from its family
// (runtime/model_family.hpp); a resumed run takes the checkpoint's kind.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "distributed/world.hpp"
#include "io/checkpoint.hpp"
#include "models/seq2seq/attention.hpp"
#include "ops/dnnl/bf16.hpp"
#include "tools/commands.hpp"
#include "tools/model_options.hpp"
#include "tools/option_checks.hpp"
#include "tools/profile_report.hpp"
#include "train/memory_estimate.hpp"
#include "train/output_folder.hpp"
#include "train/trainer.hpp"

namespace loom::cli {
namespace po = boost::program_options;

namespace {

// Past this it is a typo: refusing it up front beats gigabytes of
// allocation and a bare std::bad_alloc.
constexpr int64_t kMaxBatch = 65536;

std::atomic<bool> g_stop{false};

// The first Ctrl-C (or SIGTERM) asks for a checkpoint and a clean stop; a
// second one kills.
void on_interrupt(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

void add_data_options(po::options_description& d, train::TrainOptions& o) {
  d.add_options()
      ("model", po::value(&o.model)->value_name("NAME"),
       "the model to train (default seq2seq; with --resume, the checkpoint's): see the list below")
      ("train", po::value(&o.train_path)->value_name("FILE"), "training data (default: the model's bundled data)")
      ("valid", po::value(&o.valid_path)->value_name("FILE"), "validation data (default: the model's bundled data)")
      ("out", po::value(&o.out_dir)->default_value(o.out_dir),
       "folder for last/best checkpoints, metrics.csv and loss.svg")
      ("resume", po::value(&o.resume)->value_name("CHECKPOINT"),
       "continue from a checkpoint (its model kind and architecture are read from it; an explicit model option "
       "that contradicts it is refused)")
      ("max-memory", po::value<std::string>()->value_name("SIZE")->notifier([&o](const std::string& text) {
         try {
           o.max_memory = train::parse_memory_size(text);
         } catch (const std::invalid_argument& e) {
           throw OptionRangeError(std::string("--max-memory: ") + e.what());
         }
       }),
       "refuse to start when the estimated peak memory exceeds SIZE (e.g. 512M, 2G); "
       "the memory available (MemAvailable) is always checked")
      ("overwrite", po::bool_switch(&o.overwrite),
       "start afresh in an --out folder that holds an earlier run's checkpoints and metrics, deleting them")
      ("precision", po::value<std::string>()->default_value("f32")->notifier([&o](const std::string& v) {
         one_of("precision", {"f32", "bf16"})(v);
         o.precision = *parse_precision(v);
       }),
       "matrix products in f32, or bf16 with f32 accumulation (weights, optimiser and loss stay f32; needs "
       "AVX512-BF16 or AMX)");
}

// bf16 on a CPU that cannot run it is refused before any data is read.
bool precision_supported(const train::TrainOptions& o) {
  if (o.precision != MatmulPrecision::BF16) return true;
  if (o.deterministic) {  // fixed blocks would round their operands into one shared buffer at once
    std::cerr << "loom train: --deterministic works with --precision f32 only\n";
    return false;
  }
  std::string why = bf16_unsupported_reason();
  if (why.empty()) return true;
  std::cerr << "loom train: --precision bf16: " << why << "; use --precision f32\n";
  return false;
}

void add_optimizer_options(po::options_description& d, train::TrainOptions& o) {
  d.add_options()
      ("epochs", po::value(&o.epochs)->default_value(o.epochs)->notifier(at_least<int64_t>("epochs", 1)), "epochs")
      ("batch", po::value(&o.batch_size)->default_value(o.batch_size)
           ->notifier(in_range<int64_t>("batch", 1, kMaxBatch)), "sentence pairs per batch")
      ("seed", po::value(&o.seed)->default_value(o.seed), "fixes data order, initialisation and dropout")
      ("optimizer", po::value(&o.optimizer.kind)->default_value(o.optimizer.kind),
       optim::optimizer_registry().names_text(" | ").c_str())
      ("lr", po::value(&o.schedule.base_lr)->default_value(o.schedule.base_lr)
           ->notifier(positive("lr")), "learning rate")
      ("momentum", po::value(&o.optimizer.momentum)->default_value(o.optimizer.momentum, "0.9")
           ->notifier(below<double>("momentum", 0.0, 1.0)), "momentum (sgd kinds)")
      ("weight-decay", po::value(&o.optimizer.weight_decay)->default_value(o.optimizer.weight_decay)
           ->notifier(at_least<double>("weight-decay", 0.0)), "weight decay")
      ("schedule", po::value(&o.schedule.kind)->default_value(o.schedule.kind),
       optim::schedule_registry().names_text(" | ").c_str())
      ("warmup", po::value(&o.schedule.warmup_steps)->default_value(o.schedule.warmup_steps)
           ->notifier(at_least<int64_t>("warmup", 0)), "warm-up steps")
      ("min-lr", po::value(&o.schedule.min_lr)->default_value(o.schedule.min_lr)
           ->notifier(at_least<double>("min-lr", 0.0)), "the floor of the cosine and plateau schedules")
      ("plateau-factor", po::value(&o.schedule.plateau_factor)->default_value(o.schedule.plateau_factor)
           ->notifier(below<double>("plateau-factor", 0.0, 1.0)), "plateau: the rate is multiplied by this ...")
      ("plateau-patience", po::value(&o.schedule.plateau_patience)->default_value(o.schedule.plateau_patience)
           ->notifier(at_least<int>("plateau-patience", 1)), "... after this many epochs without improvement")
      ("beta1", po::value(&o.optimizer.beta1)->default_value(o.optimizer.beta1)
           ->notifier(below<double>("beta1", 0.0, 1.0)), "adam, adamw: decay of the gradient's running mean")
      ("beta2", po::value(&o.optimizer.beta2)->default_value(o.optimizer.beta2)
           ->notifier(below<double>("beta2", 0.0, 1.0)), "adam, adamw: decay of the squared gradient's running mean")
      ("eps", po::value(&o.optimizer.eps)->default_value(o.optimizer.eps, "1e-08")
           ->notifier(positive("eps")), "adam, adamw: added to the root of the squared mean")
      ("on-nonfinite", po::value(&o.on_nonfinite)->default_value(o.on_nonfinite)
           ->notifier(one_of("on-nonfinite", {"stop", "skip"})),
       "a step with a NaN or infinite loss or gradient: stop (keeping the last checkpoint) or skip its update")
      ("clip", po::value(&o.clip_norm)->default_value(o.clip_norm)
           ->notifier(at_least<double>("clip", 0.0)), "global gradient-norm limit (0 = off)")
      ("patience", po::value(&o.patience)->default_value(o.patience)->notifier(at_least<int>("patience", 0)),
       "stop after this many epochs without a better validation loss (0 = never)")
      ("max-steps", po::value(&o.max_steps)->default_value(o.max_steps)->notifier(at_least<int64_t>("max-steps", 0)),
       "stop with a checkpoint after this many steps in all (0 = no limit)")
      ("max-minutes", po::value(&o.max_minutes)->default_value(o.max_minutes)
           ->notifier(at_least<double>("max-minutes", 0.0)),
       "stop with a checkpoint after this many minutes (0 = no limit)")
      ("log-every", po::value(&o.log_every)->default_value(o.log_every)
           ->notifier(at_least<int64_t>("log-every", 0)), "steps per row of metrics.csv")
      ("log-batches", po::value(&o.batch_log_path)->value_name("FILE"),
       "write every training batch (token ids, in training order) to FILE as JSON lines, so that another "
       "program can train on the same batches (bench/compare_pytorch.py)")
      ("deterministic", po::bool_switch(&o.deterministic),
       "losses and weights bitwise the same on any number of threads (matrix products in fixed blocks; slower)");
}

// Every registered kind with its help line, read from the registries.
std::string extension_kinds() {
  return "\n\nModels (--model):\n" + model_list() + "Attention kinds (--attention):\n" +
         models::seq2seq::attention_registry().help_lines() +
         "Optimisers (--optimizer):\n" + optim::optimizer_registry().help_lines() +
         "Learning-rate schedules (--schedule):\n" + optim::schedule_registry().help_lines();
}

struct ProfileRequest {
  int64_t steps = 0;
  std::string trace_path;
};

void add_profile_options(po::options_description& d, ProfileRequest& p) {
  d.add_options()
      ("profile", po::value(&p.steps)->value_name("N"),
       "time N training steps (not counting steps that compile a plan for a new batch shape), print a "
       "per-step table and stop with a checkpoint")
      ("trace", po::value(&p.trace_path)->value_name("FILE.json"),
       "with --profile: also write the steps as Chrome trace-event JSON (Perfetto, chrome://tracing)");
}

// Under mpirun, threads = 0 shares the cores this process may run on among
// the ranks of this machine (mpirun binds each of two ranks to one core).
int threads_per_rank(int threads) {
  if (threads > 0) return threads;
  const char* local_ranks = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (!local_ranks || std::atoi(local_ranks) <= 1) return 0;
  return std::max(1, omp_get_num_procs() / std::atoi(local_ranks));
}

std::string distributed_help() {
  return std::string("\n\nData-parallel training: mpirun -np N loom train ... trains on N ranks, each on its\n"
                     "share of every --batch; rank 0 prints and writes OUT (docs/DISTRIBUTED.md). ") +
         (distributed::World::built_with_mpi() ? "This loom is built with MPI." : "This loom is built without MPI.");
}

// The last line on stdout: what the run reached and where it left it.
void print_summary(const train::TrainResult& r) {
  std::cout << "steps " << r.global_step << "  best valid loss " << r.best_valid_loss;
  for (const runtime::Metric& m : r.last_metrics) std::cout << "  last " << m.text;
  if (r.checkpoint.empty())
    std::cout << "  no checkpoint written\n";
  else
    std::cout << "  checkpoint " << r.checkpoint << "\n";
}

// The family a command line means: the checkpoint's kind on --resume, else
// --model (default seq2seq). Throws with the reason when neither is known.
const runtime::ModelFamily family_of(const Args& args, std::string& kind) {
  const std::string resume = peek_option(args, "resume");
  kind = peek_option(args, "model");
  if (!resume.empty()) {
    try {
      kind = runtime::checkpoint_model_kind(io::read_checkpoint_info(resume));
    } catch (const std::exception&) {
      // The run itself reports an unreadable checkpoint, naming it.
    }
  }
  if (kind.empty()) kind = "seq2seq";
  return runtime::model_registry().make(kind);
}

// The run itself, once the options are read: with more than one rank an
// error on this rank ends the whole job, since the others would wait for it.
int train_in_world(train::TrainOptions& o, double dist_timeout, StepProfiler& profiler,
                   const ProfileRequest& profile) {
  std::optional<distributed::World> world;
  try {
    world.emplace(distributed::WorldOptions{dist_timeout});
  } catch (const std::exception& e) {
    std::cerr << "loom train: " << e.what() << "\n";
    return kExitUsage;
  }
  o.world = &*world;
  std::ostream silent(nullptr);  // the other ranks' progress would only repeat rank 0's
  const std::string who =
      world->size() > 1 ? "loom train: rank " + std::to_string(world->rank()) + ": " : "loom train: ";
  int code = kExitOk;
  try {
    train::TrainResult r = train::train_model(o, world->is_root() ? std::cerr : silent, &g_stop);
    if (world->is_root()) print_summary(r);
    if (o.profiler) return world->is_root() ? report_profile(profiler, profile.trace_path, "train") : kExitOk;
    return g_stop.load() ? 130 : kExitOk;
  } catch (const train::OptionConflict& e) {
    std::cerr << who << e.what() << "\n";
    code = kExitUsage;
  } catch (const train::OutputFolderNotEmpty& e) {
    std::cerr << who << e.what() << "\n";
    code = kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << who << e.what() << "\n";
    code = kExitFailure;
  }
  if (world->size() > 1) world->abort(code);
  return code;
}

}  // namespace

int run_train(const Args& args) {
  train::TrainOptions o;
  std::string kind;
  runtime::ModelFamily family;
  try {
    family = family_of(args, kind);
  } catch (const std::invalid_argument& e) {
    std::cerr << "loom train: --model: " << e.what() << "\n";
    return kExitUsage;
  }
  int threads = 0;
  double dist_timeout = 300;
  int64_t bucket_kb = o.bucket_bytes / 1024;
  po::options_description opts("options");
  opts.add_options()("help,h", "print this help and exit")(
      "threads", po::value(&threads)->default_value(0)
           ->notifier(in_range("threads", 0, kMaxThreads)),
      "OpenMP threads per process (0 = all cores; under mpirun, the cores shared among this machine's ranks)")(
      "dist-timeout", po::value(&dist_timeout)->default_value(dist_timeout)->notifier(positive("dist-timeout")),
      "under mpirun: seconds a rank waits for the others before it names the ranks that do not answer and "
      "ends the job")(
      "bucket-kb", po::value(&bucket_kb)->default_value(bucket_kb)
           ->notifier(in_range<int64_t>("bucket-kb", 1, 1 << 20)),
      "under mpirun: KiB of gradients per bucket; each bucket's sum starts as soon as backward has produced it");
  add_data_options(opts, o);
  add_optimizer_options(opts, o);
  po::options_description model_opts("options of the model '" + kind + "' (loom train --model NAME --help for another)");
  add_family_options(model_opts, family, o.model_options);
  opts.add(model_opts);
  ProfileRequest profile;
  add_profile_options(opts, profile);
  std::string text =
      "Trains a model: the attention encoder-decoder translator, or the one --model\n"
      "names (its data: " + family.data_help + "). Progress goes to stderr;\n"
      "every epoch writes OUT/last.safetensors (and OUT/best.safetensors when the\n"
      "validation loss improves), OUT/metrics.csv and OUT/loss.svg. Ctrl-C saves\n"
      "OUT/last.safetensors and stops; --resume OUT/last.safetensors continues\n"
      "with exactly the losses an uninterrupted run would have.";
  text += extension_kinds();
  text += distributed_help();
  po::variables_map vm;
  if (!parse_command_line(args, "train", text, opts, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_command_help(std::cout, "train", text, opts);
    return kExitOk;
  }
  StepProfiler profiler;
  if (vm.count("profile") || vm.count("trace")) {
    if (profile.steps <= 0) {
      std::cerr << "loom train: --profile needs N >= 1 steps (and --trace needs --profile)\n";
      return kExitUsage;
    }
    o.profiler = &profiler;
    o.profile_steps = profile.steps;
  }
  if (!precision_supported(o)) return kExitUsage;
  o.explicit_model_options = explicit_family_options(family, vm);
  o.bucket_bytes = bucket_kb * 1024;
  if (int t = threads_per_rank(threads); t > 0) omp_set_num_threads(t);
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);  // what kill and batch schedulers send
  return train_in_world(o, dist_timeout, profiler, profile);
}

}  // namespace loom::cli
