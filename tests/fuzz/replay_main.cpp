// Without libFuzzer (g++ builds) each harness still runs in ctest: every seed
// in the corpus folders given, then a fixed number of seeded mutations of
// each (byte flips, truncations, insertions, splices), so the harness and
// the readers' refusals stay tested under the sanitizers too.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<uint8_t> read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::vector<uint8_t> mutate(std::vector<uint8_t> x, const std::vector<uint8_t>& other, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t(0) : size_t(rng() % n); };
  switch (rng() % 4) {
    case 0:
      for (int i = 0; i < 4 && !x.empty(); ++i) x[pick(x.size())] ^= uint8_t(1u << (rng() % 8));
      break;
    case 1: x.resize(pick(x.size() + 1)); break;
    case 2: x.insert(x.begin() + std::ptrdiff_t(pick(x.size() + 1)), uint8_t(rng())); break;
    default: {
      size_t cut = pick(x.size() + 1), from = pick(other.size() + 1);
      x.resize(cut);
      x.insert(x.end(), other.begin() + std::ptrdiff_t(from), other.end());
    }
  }
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  constexpr int kMutationsPerSeed = 300;
  std::vector<std::vector<uint8_t>> seeds;
  for (int i = 1; i < argc; ++i)
    for (const auto& entry : std::filesystem::directory_iterator(argv[i]))
      if (entry.is_regular_file()) seeds.push_back(read_bytes(entry.path()));
  if (seeds.empty()) {
    std::fprintf(stderr, "no seed inputs in the folders given\n");
    return 1;
  }
  std::mt19937_64 rng(20261201);
  size_t runs = 0;
  for (const auto& seed : seeds) {
    LLVMFuzzerTestOneInput(seed.data(), seed.size());
    ++runs;
    for (int m = 0; m < kMutationsPerSeed; ++m, ++runs) {
      std::vector<uint8_t> input = mutate(seed, seeds[rng() % seeds.size()], rng);
      LLVMFuzzerTestOneInput(input.data(), input.size());
    }
  }
  std::printf("%zu inputs from %zu seeds: 0 crashes\n", runs, seeds.size());
  return 0;
}
