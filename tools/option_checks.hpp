// Range checks for command-line options. They run in Boost's notify step, so
// a value out of range ends parsing like an unknown option: the command
// prints the reason and its help and exits with kExitUsage (2). Messages speak
// in command-line terms: "--hidden must be in [1, 8192], got 0". NaN fails
// every check, since every comparison with it is false.
#pragma once
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace loom::cli {

// Limits shared by the commands: past them a value is a typo, and honouring
// it would cost minutes and gigabytes before failing anyway.
constexpr int kMaxThreads = 1024;
constexpr int64_t kMaxBeam = 256;
constexpr int64_t kMaxOutputLength = 1024;  // --max-length, tokens per translation

struct OptionRangeError : boost::program_options::error {
  using boost::program_options::error::error;
};

template <class T>
std::string option_value_text(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", double(v));
    return buf;
  } else {
    return std::to_string(v);
  }
}

// lo <= value
template <class T>
auto at_least(std::string option, T lo) {
  return [option = std::move(option), lo](const T& v) {
    if (!(v >= lo) || !std::isfinite(double(v)))
      throw OptionRangeError("--" + option + " must be >= " + option_value_text(lo) + ", got " +
                             option_value_text(v));
  };
}

// lo <= value <= hi
template <class T>
auto in_range(std::string option, T lo, T hi) {
  return [option = std::move(option), lo, hi](const T& v) {
    if (!(v >= lo && v <= hi))
      throw OptionRangeError("--" + option + " must be in [" + option_value_text(lo) + ", " + option_value_text(hi) +
                             "], got " + option_value_text(v));
  };
}

// lo <= value < hi
template <class T>
auto below(std::string option, T lo, T hi) {
  return [option = std::move(option), lo, hi](const T& v) {
    if (!(v >= lo && v < hi))
      throw OptionRangeError("--" + option + " must be in [" + option_value_text(lo) + ", " + option_value_text(hi) +
                             "), got " + option_value_text(v));
  };
}

// 0 < value < infinity
inline auto positive(std::string option) {
  return [option = std::move(option)](const double& v) {
    if (!(v > 0) || !std::isfinite(v))
      throw OptionRangeError("--" + option + " must be a positive finite number, got " + option_value_text(v));
  };
}

// value is one of the listed words
inline auto one_of(std::string option, std::vector<std::string> words) {
  return [option = std::move(option), words = std::move(words)](const std::string& v) {
    std::string list;
    for (const std::string& w : words) {
      if (w == v) return;
      list += (list.empty() ? "" : " | ") + w;
    }
    throw OptionRangeError("--" + option + " must be one of " + list + ", got '" + v + "'");
  };
}

}  // namespace loom::cli
