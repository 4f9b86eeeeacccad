#include "tools/profile_report.hpp"

#include <fstream>
#include <iostream>

#include "ops/dnnl/gemm_rate.hpp"
#include "tools/commands.hpp"

namespace loom::cli {

// The sgemm rate is measured at a size typical of the small configuration's
// LSTM products (B·T = 512 rows, 4H = 1024 columns, depth 256): a shared
// machine's rate is not its datasheet's.
int report_profile(const StepProfiler& profiler, const std::string& trace_path, std::string_view command) {
  std::cout << profiler.table(measure_sgemm_gflops(512, 1024, 256));
  if (trace_path.empty()) return kExitOk;
  std::ofstream out(trace_path);
  profiler.write_trace(out);
  if (!out) {
    std::cerr << "loom " << command << ": cannot write the trace to '" << trace_path << "'\n";
    return kExitFailure;
  }
  std::cout << "trace written to " << trace_path << "\n";
  return kExitOk;
}

}  // namespace loom::cli
