// Sums the gradients of a data-parallel step over the ranks, overlapping the
// sums with backward. The ParameterStore's flat gradient buffer is cut into
// buckets of whole parameters, in the reverse of declaration order (the
// order backward produces them: output layer first, embeddings last). As
// each parameter's gradient becomes final (Seq2Seq's gradient listener) the
// reducer counts it; a bucket whose gradients are all final is weighted and
// its sum started at once, while backward goes on. Buckets start in the same
// fixed order on every rank, as MPI requires of collectives, even where one
// rank's plan finishes them in another order.
//
// Weighting: each rank's loss is the mean over its own target tokens, n_r
// of the global batch's N. Scaling rank r's gradient by n_r / N before the sum
// makes the sum the gradient of the mean over all N tokens, which is what
// one process computes on the whole batch.
#pragma once
#include <cstdint>
#include <vector>

#include "distributed/world.hpp"
#include "graph/parameters.hpp"

namespace loom::distributed {

class GradientReducer {
 public:
  // bucket_bytes: the size a bucket grows to (a parameter larger than it is
  // a bucket on its own).
  GradientReducer(World& world, ParameterStore& params, int64_t bucket_bytes);

  // Before backward: this rank's gradients will be scaled by `weight`.
  void begin_step(double weight);
  // The gradient of params.entries()[entry] is final in the gradient buffer.
  void gradient_ready(size_t entry);
  // After backward: starts every bucket not started yet and waits for all.
  // Afterwards every rank holds the same summed gradient.
  void finish_step(const char* what);

  size_t buckets() const { return buckets_.size(); }
  // Seconds spent in finish_step waiting for sums: the communication that
  // backward did not hide.
  double wait_seconds() const { return wait_seconds_; }

 private:
  struct Bucket {
    int64_t begin = 0, end = 0;  // elements of the flat buffer
    int pending = 0;             // parameters whose gradient is not final yet
    int parameters = 0;
  };
  void start_ready_buckets();
  void start(Bucket& b);

  World& world_;
  ParameterStore& params_;
  std::vector<Bucket> buckets_;        // in the order they start
  std::vector<size_t> bucket_of_;      // per parameter entry
  size_t next_ = 0;                    // the next bucket to start
  double weight_ = 1;
  double wait_seconds_ = 0;
};

}  // namespace loom::distributed
