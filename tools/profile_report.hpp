// What `loom train --profile` and `loom bench --profile` print: the step
// table against an sgemm rate measured on the spot, and the Chrome trace
// when asked for one.
#pragma once
#include <string>
#include <string_view>

#include "graph/profiler.hpp"

namespace loom::cli {

// Returns the exit status: kExitFailure when the trace cannot be written.
int report_profile(const StepProfiler& profiler, const std::string& trace_path, std::string_view command);

}  // namespace loom::cli
