// `loom train --precision`: a value other than f32 or bf16 exits 2 naming
// the option; bf16 on a CPU without AVX512-BF16 or AMX exits 2 with the
// reason before reading any data (every machine checks this: the
// ONEDNN_MAX_CPU_ISA=AVX2 of the child process hides the feature); and where
// the CPU has it, a short bf16 toy run trains and exits 0.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "ops/dnnl/bf16.hpp"
#include "tests/support/run_loom.hpp"

namespace {

using loom::test::run_loom;

const std::string kToy =
    "train --train data/toy.tsv --valid data/toy.tsv --embed 8 --hidden 16 --batch 4 --bleu-sentences 4 ";

std::string fresh_dir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "loom_cli_precision_" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(CliPrecision, UnknownValueExits2) {
  auto r = run_loom(kToy + "--precision fp8 --out '" + fresh_dir("bad") + "'");
  EXPECT_EQ(r.status, 2) << r.all;
  EXPECT_NE(r.err.find("--precision must be one of f32 | bf16, got 'fp8'"), std::string::npos) << r.err;
}

TEST(CliPrecision, DeterministicBf16Exits2) {
  auto r = run_loom(kToy + "--precision bf16 --deterministic --out '" + fresh_dir("det") + "'");
  EXPECT_EQ(r.status, 2) << r.all;
  EXPECT_NE(r.err.find("--deterministic works with --precision f32 only"), std::string::npos) << r.err;
}

TEST(CliPrecision, Bf16WithoutCpuSupportExits2) {
  ASSERT_EQ(setenv("ONEDNN_MAX_CPU_ISA", "AVX2", 1), 0);  // inherited by the child only
  std::string out = fresh_dir("hidden");
  auto r = run_loom("train --train no/such/file.tsv --precision bf16 --out '" + out + "'");
  unsetenv("ONEDNN_MAX_CPU_ISA");
  EXPECT_EQ(r.status, 2) << r.all;
  EXPECT_NE(r.err.find("--precision bf16: bf16 matmuls need a CPU with AVX512-BF16 or AMX"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("use --precision f32"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("no/such/file.tsv"), std::string::npos) << "refused only after reading data: " << r.err;
  EXPECT_FALSE(std::filesystem::exists(out + "/last.safetensors"));
}

TEST(CliPrecision, Bf16ToyRunTrains) {
  if (std::string why = loom::bf16_unsupported_reason(); !why.empty()) GTEST_SKIP() << why;
  std::string out = fresh_dir("bf16");
  auto r = run_loom(kToy + "--precision bf16 --epochs 2 --out '" + out + "'");
  EXPECT_EQ(r.status, 0) << r.all;
  EXPECT_TRUE(std::filesystem::exists(out + "/last.safetensors"));
}

}  // namespace
