// PlanCache: one compiled plan per shape signature. Sequence lengths change
// from batch to batch, so a model compiles a plan per (batch, lengths) bucket
// and keeps it; the key is a signature string such as "B=32,S=20,T=18".
// Entries are built on a miss by a caller-supplied factory (usually one that
// compiles the graph for those shapes and returns an Executor) and live as
// long as the cache. Not thread-safe: one cache per training or decoding loop.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "graph/errors.hpp"
#include "graph/executor.hpp"

namespace loom {

// "B=32,S=20,T=18", in the order given.
std::string shape_signature(std::initializer_list<std::pair<std::string_view, int64_t>> dims);

template <class T>
class BasicPlanCache {
 public:
  using Factory = std::function<std::unique_ptr<T>()>;

  // The entry for `signature`, built by `make` on the first request.
  T& get(const std::string& signature, const Factory& make) {
    auto it = entries_.find(signature);
    if (it != entries_.end()) {
      ++hits_;
      return *it->second;
    }
    ++misses_;
    std::unique_ptr<T> made = make();
    if (!made) throw GraphError("plan cache: the factory for '" + signature + "' returned nothing");
    return *entries_.emplace(signature, std::move(made)).first->second;
  }

  bool contains(const std::string& signature) const { return entries_.count(signature) != 0; }
  size_t size() const { return entries_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  void clear() { entries_.clear(); }

 private:
  std::unordered_map<std::string, std::unique_ptr<T>> entries_;
  uint64_t hits_ = 0, misses_ = 0;
};

using PlanCache = BasicPlanCache<Executor>;

}  // namespace loom
