// The folder a training run writes into (TrainOptions::out_dir), claimed for
// the whole run: one run per folder, no silent mixing of a new run's files
// with an earlier run's, and no temporaries left by a killed run.
#pragma once
#include <iosfwd>
#include <stdexcept>
#include <string>

namespace loom::train {

// Another process holds the folder; the message names it and the holder's pid.
struct OutputFolderBusy : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A new run (not a resume) was pointed at a folder holding an earlier run's
// checkpoints or metrics without asking to overwrite them: a usage error.
struct OutputFolderNotEmpty : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The files a run writes into its folder, which a new run would replace
// (besides the sidecars "last.safetensors.<hash>.train", "best...").
inline constexpr const char* kRunFiles[] = {"last.safetensors", "last.safetensors.train", "best.safetensors",
                                            "best.safetensors.train", "metrics.csv", "loss.svg"};

class OutputFolderClaim {
 public:
  // Creates `dir` and locks DIR/.lock with flock, writing this process's pid
  // into it. The kernel drops the lock when the process ends in any way
  // (kill -9 included), so a lock is never stale. Then, for a new run, refuses
  // a folder holding kRunFiles unless `overwrite` (which deletes them), and
  // removes temporaries ("*.tmp.*") that a killed run left, saying so on `log`.
  OutputFolderClaim(const std::string& dir, bool resuming, bool overwrite, std::ostream& log);
  ~OutputFolderClaim();
  OutputFolderClaim(const OutputFolderClaim&) = delete;
  OutputFolderClaim& operator=(const OutputFolderClaim&) = delete;

 private:
  int lock_fd_ = -1;
};

}  // namespace loom::train
