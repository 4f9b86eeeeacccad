// Counting every heap allocation, for the tests that prove a warm run
// allocates nothing. Linking this file replaces the global operator new and
// delete (all forms, nothrow included, so that sanitizers see them paired).
#pragma once
#include <utility>

namespace loom::test {

void start_counting_allocations();
long stop_counting_allocations();  // allocations since start, from any thread

// Allocations made while f() runs.
template <class F>
long allocations_during(F&& f) {
  start_counting_allocations();
  std::forward<F>(f)();
  return stop_counting_allocations();
}

}  // namespace loom::test
