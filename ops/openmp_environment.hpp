// The OMP_NUM_THREADS a program was started with, checked before any OpenMP
// region runs. libgomp takes any positive number: with 100000 the first
// parallel region starts 100000 threads, which under a 4 GiB address-space
// limit (ulimit -v) ended `loom train` in a segmentation fault instead of an
// error. A value libgomp cannot read ("abc", "0", "") it ignores with a
// warning and runs on every core, which is not what was asked either.
#pragma once
#include <string>

namespace loom {

// Why `value`, the text of OMP_NUM_THREADS (nullptr when unset), cannot be
// used with at most `max_threads` threads per team; "" when it can. Accepted:
// a whole number in [1, max_threads], or a comma-separated list of them (one
// per nesting level, as OpenMP allows), with spaces around each.
std::string openmp_num_threads_problem(const char* value, int max_threads);

}  // namespace loom
