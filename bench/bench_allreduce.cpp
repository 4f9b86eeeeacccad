// The gradient sum alone, for the cost model of docs/DISTRIBUTED.md: under
// `mpirun -np 2 build/bench_allreduce`, times the in-place sum of f32
// buffers of the sizes that matter (one float: the latency; the small and
// medium models' gradients: the bandwidth) as `loom train` starts it
// (distributed::World::start_sum, then wait_started), and prints the median and
// range of REPS repetitions. Started alone it times a world of one rank.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "distributed/world.hpp"

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(3, std::atoi(argv[1])) : 21;
  loom::distributed::World world;
  const std::vector<int64_t> sizes{1, 2'327'000, 15'450'000};  // floats: latency, small, medium
  for (int64_t n : sizes) {
    std::vector<float> buffer(size_t(n), 1.0f);
    std::vector<double> ms;
    for (int r = 0; r < reps; ++r) {
      world.any(false, "lining the ranks up");
      const auto began = std::chrono::steady_clock::now();
      world.start_sum(buffer.data(), n, loom::DType::F32);
      world.wait_started("the timed sum");
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count());
    }
    std::sort(ms.begin(), ms.end());
    if (world.is_root())
      std::printf("%d ranks, %10.3f MB: median %8.3f ms (min %.3f, max %.3f), %.2f GB/s\n", world.size(),
                  double(n) * 4 / 1e6, ms[ms.size() / 2], ms.front(), ms.back(),
                  double(n) * 4 / 1e6 / ms[ms.size() / 2]);
  }
  return 0;
}
