// On a CPU without AVX512-BF16 or AMX a bf16 Gemm is refused with a message
// naming the missing feature and the instruction set found. Every machine
// runs this: ONEDNN_MAX_CPU_ISA=AVX2, set before oneDNN first reads it (this
// executable's static initialisation), hides the feature from oneDNN just as
// such a CPU would. f32 GEMMs still run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "graph/errors.hpp"
#include "ops/dnnl/bf16.hpp"
#include "ops/dnnl/gemm.hpp"
#include "tests/support/op_test.hpp"

namespace loom {
namespace {

const bool kHidden = setenv("ONEDNN_MAX_CPU_ISA", "AVX2", 1) == 0;

TEST(Bf16Refusal, HiddenFeatureIsReported) {
  ASSERT_TRUE(kHidden);
  std::string why = bf16_unsupported_reason();
  EXPECT_NE(why.find("AVX512-BF16 or AMX"), std::string::npos) << why;
  EXPECT_NE(why.find(effective_cpu_isa_name()), std::string::npos) << why;
  EXPECT_EQ(effective_cpu_isa_name().find("avx512"), std::string::npos) << "the override did not take";
}

TEST(Bf16Refusal, Bf16GemmIsRefusedAndF32StillRuns) {
  auto ctx = make_dnnl_context();
  std::string what = test::message_of<BackendError>(
      [&] { Gemm(*ctx, {.m = 4, .n = 5, .k = 6, .precision = MatmulPrecision::BF16}); });
  EXPECT_NE(what.find("AVX512-BF16 or AMX"), std::string::npos) << what;
  EXPECT_NE(what.find("precision=bf16"), std::string::npos) << what;  // the shape at fault
  Gemm f32(*ctx, {.m = 2, .n = 2, .k = 2});
  std::vector<float> a{1, 2, 3, 4}, b{1, 0, 0, 1}, c(4);
  f32.run(a.data(), b.data(), c.data());
  EXPECT_EQ(c, a);
}

}  // namespace
}  // namespace loom
