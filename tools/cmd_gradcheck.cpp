// `loom gradcheck`: runs the f64 finite-difference gradient check
// (autograd/gradcheck.hpp) on one op's example, or on every differentiable op
// in the registry (built-ins and any user op registered at start-up), and
// prints one line per op: "name  OK|FAIL  max_err=…". Exit 1 if any check
// fails; exit 2 for an unknown or non-differentiable op name.
#include <cstdio>
#include <iostream>

#include "autograd/gradcheck.hpp"
#include "graph/errors.hpp"
#include "graph/op_def.hpp"
#include "tools/commands.hpp"

namespace loom::cli {
namespace po = boost::program_options;

namespace {

constexpr std::string_view kDescription =
    "Compares every op's symbolic gradient with central finite differences in double\n"
    "precision, on the small example graph the op's definition provides. Prints one\n"
    "line per op: name, OK or FAIL, and the largest relative error found.";

bool is_differentiable(const OpDef& d) { return !d.has(kLeaf) && !d.has(kNonDifferentiable); }

// One line for one op; a check that cannot even run counts as a failure.
bool check_one(const std::string& name, const GradCheckOptions& options, bool verbose) {
  std::string status, detail;
  bool ok = false;
  double max_err = 0;
  try {
    GradCheckResult r = check_op_gradients(name, options);
    ok = r.ok;
    max_err = r.error;
    if (!r.message.empty()) detail = r.message;
    else if (!ok || verbose) detail = r.str();
  } catch (const std::exception& e) {
    detail = std::string("error: ") + e.what();
  }
  std::printf("%-24s %-4s  max_err=%.3g%s%s\n", name.c_str(), ok ? "OK" : "FAIL", max_err,
              detail.empty() ? "" : "  ", detail.c_str());
  std::fflush(stdout);
  return ok;
}

// The ops to check, validated before anything runs; empty plus an error message on a bad name.
std::vector<std::string> select_ops(bool all, const std::vector<std::string>& names, std::string& error) {
  std::vector<std::string> out;
  if (all) {
    for (const OpDef& d : registry().all())
      if (is_differentiable(d)) out.push_back(d.name);
    return out;
  }
  for (const std::string& name : names) {
    try {
      const OpDef& d = op_def(op_id(name));
      if (!is_differentiable(d)) {
        error = "op '" + name + "' has no gradient to check: " + d.why_no_grad;
        return {};
      }
    } catch (const GraphError& e) {
      error = e.what();
      return {};
    }
    out.push_back(name);
  }
  return out;
}

}  // namespace

int run_gradcheck(const Args& args) {
  po::options_description opts("options");
  opts.add_options()
      ("help,h", "print this help and exit")
      ("op", po::value<std::vector<std::string>>()->value_name("NAME"),
       "check this op (repeatable); no default: give --op or --all")
      ("all", po::bool_switch(), "check every differentiable op in the registry (default: off)")
      ("max-elements", po::value<int64_t>()->value_name("N")->default_value(64),
       "elements probed per input, evenly spaced")
      ("verbose,v", po::bool_switch(), "print the worst element of every op, not only of failures (default: off)");
  po::variables_map vm;
  if (!parse_command_line(args, "gradcheck", kDescription, opts, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_command_help(std::cout, "gradcheck", kDescription, opts);
    return kExitOk;
  }
  bool all = vm["all"].as<bool>();
  std::vector<std::string> names = vm.count("op") ? vm["op"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (all == !names.empty()) {
    std::cerr << "loom gradcheck: give either --op NAME or --all\n\n";
    print_command_help(std::cerr, "gradcheck", kDescription, opts);
    return kExitUsage;
  }
  if (vm["max-elements"].as<int64_t>() < 1) {
    std::cerr << "loom gradcheck: --max-elements must be at least 1\n";
    return kExitUsage;
  }
  std::string error;
  std::vector<std::string> ops = select_ops(all, names, error);
  if (!error.empty()) {
    std::cerr << "loom gradcheck: " << error << "\n";
    return kExitUsage;
  }
  GradCheckOptions options;
  options.max_elements_per_input = vm["max-elements"].as<int64_t>();
  int failed = 0;
  for (const std::string& name : ops) failed += check_one(name, options, vm["verbose"].as<bool>()) ? 0 : 1;
  std::printf("%zu op(s) checked, %d failed\n", ops.size(), failed);
  return failed ? kExitFailure : kExitOk;
}

}  // namespace loom::cli
