#include "ops/openmp_environment.hpp"

#include <cctype>
#include <string_view>

namespace loom {
namespace {

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Whether s is a whole number in [1, max]. Digits past max stop the reading,
// so no value, however long, overflows.
bool thread_count_in_range(std::string_view s, int max) {
  if (s.empty()) return false;
  long long n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
    if (n > max) return false;
  }
  return n >= 1;
}

// A hostile value could be long: the message shows its start.
std::string shown(std::string_view value) {
  constexpr size_t kShown = 40;
  return value.size() <= kShown ? std::string(value) : std::string(value.substr(0, kShown)) + "...";
}

}  // namespace

std::string openmp_num_threads_problem(const char* value, int max_threads) {
  if (!value) return "";
  std::string_view rest = value;
  while (true) {
    const size_t comma = rest.find(',');
    if (!thread_count_in_range(trimmed(rest.substr(0, comma)), max_threads))
      return "OMP_NUM_THREADS must be a number of threads in [1, " + std::to_string(max_threads) +
             "] (or a list of them, such as 4,2), got '" + shown(value) + "'; unset it to use every core";
    if (comma == std::string_view::npos) return "";
    rest.remove_prefix(comma + 1);
  }
}

}  // namespace loom
