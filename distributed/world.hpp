// The ranks of a data-parallel job (docs/DISTRIBUTED.md). A World is the
// MPI job this process was started in by mpirun, or a world of one rank when
// it was started alone or Loom was built without MPI (dist/single/). Only
// dist/mpi/ includes <mpi.h>; nothing above this header knows MPI exists.
//
// Every wait is bounded: a collective that has not completed after
// `timeout_s` asks the other ranks which of them are still alive and waiting,
// prints the ranks that did not answer, and ends the whole job (MPI_Abort),
// so a hung or dead peer can never hang the others.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "graph/tensor.hpp"

namespace loom::distributed {

struct WorldOptions {
  double timeout_s = 300;  // longest wait for the other ranks in any collective
};

class World {
 public:
  // Joins the job when the environment says mpirun (or srun) started this
  // process; throws std::runtime_error when it did with more than one rank
  // but Loom was built without MPI (the ranks would train apart).
  explicit World(WorldOptions options = {});
  ~World();  // leaves the job cleanly (MPI_Finalize)
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  static bool built_with_mpi();
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  double timeout_s() const { return options_.timeout_s; }

  // Ends every rank of the job now with this exit code: for an error that
  // the other ranks cannot see, which would otherwise wait for this one.
  [[noreturn]] void abort(int exit_code);

  // ---- collectives: every rank calls them in the same order ----
  // `what` names the collective in a timeout message ("step 12: ...").
  // Logical OR of `local` over the ranks.
  bool any(bool local, const char* what);
  // Element-wise sum over the ranks, in place.
  void sum(double* values, size_t n, const char* what);
  // Rank 0's bytes to every rank.
  void broadcast(void* data, size_t bytes, const char* what);
  // Starts an in-place sum of n elements of dtype over the ranks and returns
  // at once; wait_started() completes every sum started.
  void start_sum(void* data, int64_t n, DType dtype);
  // Lets started sums advance (MPI makes progress only inside its calls).
  void progress();
  void wait_started(const char* what);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  WorldOptions options_;
  int rank_ = 0, size_ = 1;
};

// True when this process was started by a launcher of an MPI job
// (Open MPI's mpirun, PMIx or PMI), whatever the number of ranks.
bool launched_by_mpi_launcher();

}  // namespace loom::distributed
