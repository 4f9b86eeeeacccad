// OMP_NUM_THREADS is checked before `loom` runs any parallel region: a
// number of threads in [1, limit], or a list of them as OpenMP allows; any
// other value is refused with a message naming the variable, the value and
// the limit. tests/scripts/check_omp_num_threads runs the real command.
#include <gtest/gtest.h>

#include <string>

#include "ops/openmp_environment.hpp"

namespace loom {
namespace {

constexpr int kLimit = 1024;

bool accepted(const char* value) { return openmp_num_threads_problem(value, kLimit).empty(); }

TEST(OpenmpEnvironment, UnsetAndSensibleCountsAreAccepted) {
  EXPECT_TRUE(accepted(nullptr));
  for (const char* value : {"1", "2", "1024", " 8 ", "4,2", "4, 2", "16,1,1"}) EXPECT_TRUE(accepted(value)) << value;
}

TEST(OpenmpEnvironment, AbsurdCountsAreRefusedNamingTheValueAndTheLimit) {
  const std::string problem = openmp_num_threads_problem("100000", kLimit);
  EXPECT_NE(problem.find("OMP_NUM_THREADS"), std::string::npos) << problem;
  EXPECT_NE(problem.find("'100000'"), std::string::npos) << problem;
  EXPECT_NE(problem.find("1024"), std::string::npos) << problem;
  for (const char* value : {"1025", "4,100000", "100000,4", "99999999999999999999999999"})
    EXPECT_FALSE(accepted(value)) << value;
}

// libgomp ignores these with a warning and uses every core.
TEST(OpenmpEnvironment, ValuesThatAreNotCountsAreRefused) {
  for (const char* value : {"abc", "", " ", "0", "-1", "2.5", "4,", ",4", "4,,2", "4 2", "0x10"})
    EXPECT_FALSE(accepted(value)) << "'" << value << "'";
  EXPECT_NE(openmp_num_threads_problem("abc", kLimit).find("'abc'"), std::string::npos);
}

TEST(OpenmpEnvironment, ALongValueIsShownCut) {
  const std::string problem = openmp_num_threads_problem(std::string(5000, '7').c_str(), kLimit);
  EXPECT_LT(problem.size(), 300u) << problem;
  EXPECT_NE(problem.find("..."), std::string::npos) << problem;
}

}  // namespace
}  // namespace loom
