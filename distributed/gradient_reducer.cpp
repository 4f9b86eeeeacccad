#include "distributed/gradient_reducer.hpp"

#include <chrono>

namespace loom::distributed {

GradientReducer::GradientReducer(World& world, ParameterStore& params, int64_t bucket_bytes)
    : world_(world), params_(params) {
  const auto& entries = params.entries();
  const int64_t element = int64_t(dtype_size(params.dtype()));
  bucket_of_.resize(entries.size());
  // Walking backwards, entry i spans [offset_i, offset_{i+1}): its padding
  // (kept zero) travels with it, so a bucket is one contiguous range.
  int64_t end = params.numel();
  for (size_t i = entries.size(); i-- > 0;) {
    const int64_t begin = entries[i].offset;
    if (buckets_.empty() || (buckets_.back().end - buckets_.back().begin) * element >= bucket_bytes)
      buckets_.push_back({begin, end, 0, 0});
    Bucket& b = buckets_.back();
    b.begin = begin;
    ++b.parameters;
    bucket_of_[i] = buckets_.size() - 1;
    end = begin;
  }
}

void GradientReducer::begin_step(double weight) {
  weight_ = weight;
  next_ = 0;
  for (Bucket& b : buckets_) b.pending = b.parameters;
}

void GradientReducer::start(Bucket& b) {
  const int64_t n = b.end - b.begin;
  if (params_.dtype() == DType::F64) {
    double* g = static_cast<double*>(params_.grads_data()) + b.begin;
    for (int64_t i = 0; i < n; ++i) g[i] *= weight_;
  } else {
    float* g = static_cast<float*>(params_.grads_data()) + b.begin;
    const float w = float(weight_);
    for (int64_t i = 0; i < n; ++i) g[i] *= w;
  }
  world_.start_sum(static_cast<char*>(params_.grads_data()) + b.begin * int64_t(dtype_size(params_.dtype())), n,
                   params_.dtype());
}

void GradientReducer::start_ready_buckets() {
  while (next_ < buckets_.size() && buckets_[next_].pending == 0) start(buckets_[next_++]);
}

void GradientReducer::gradient_ready(size_t entry) {
  Bucket& b = buckets_.at(bucket_of_.at(entry));
  if (b.pending > 0) --b.pending;
  start_ready_buckets();
  world_.progress();
}

void GradientReducer::finish_step(const char* what) {
  for (Bucket& b : buckets_) b.pending = 0;
  start_ready_buckets();
  const auto began = std::chrono::steady_clock::now();
  world_.wait_started(what);
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
}

}  // namespace loom::distributed
