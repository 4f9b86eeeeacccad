// `loom explain`: builds a demo training graph (forward, a scalar loss, and
// its gradients through grad()), compiles it, and prints Plan::explain();
// --dot FILE also writes Plan::dot() for Graphviz. Demo models are rows of
// kModels: adding one (an LSTM, say) is one build function and one row.
#include <fstream>
#include <iostream>

#include "autograd/grad.hpp"
#include "graph/plan.hpp"
#include "ops/ops.hpp"
#include "tools/commands.hpp"

namespace loom::cli {
namespace po = boost::program_options;

namespace {

struct DemoSize {
  int64_t batch = 16;
  int64_t hidden = 64;
};

// What a demo model hands to the compiler: the values a training step fetches.
struct DemoGraph {
  std::vector<Value> fetches;  // loss first, then one gradient per parameter
};

constexpr int64_t kMlpInputs = 32, kMlpOutputs = 10;

// x: (B,32)  W1: (32,H) b1: (H)  W2: (H,10) b2: (10)
// loss = sum(tanh(x·W1 + b1)·W2 + b2), and d loss / d every parameter.
DemoGraph build_mlp(Graph& g, const DemoSize& size) {
  Var x = input(g, "x", {DType::F32, {size.batch, kMlpInputs}});
  Var w1 = parameter(g, "mlp.w1", {DType::F32, {kMlpInputs, size.hidden}});
  Var b1 = parameter(g, "mlp.b1", {DType::F32, {size.hidden}});
  Var w2 = parameter(g, "mlp.w2", {DType::F32, {size.hidden, kMlpOutputs}});
  Var b2 = parameter(g, "mlp.b2", {DType::F32, {kMlpOutputs}});
  Var h = named(ops::tanh(ops::matmul(x, w1) + b1), "mlp.hidden");
  Var y = named(ops::matmul(h, w2) + b2, "mlp.out");
  Var loss = named(ops::sum(y), "loss");
  DemoGraph demo{{loss.value}};
  for (const Var& dp : grad(loss, {w1, b1, w2, b2})) demo.fetches.push_back(dp.value);
  return demo;
}

struct DemoModel {
  std::string_view name;
  std::string_view summary;
  DemoGraph (*build)(Graph&, const DemoSize&);
};

const DemoModel kModels[] = {
    {"mlp", "2-layer MLP: x(B,32) -> tanh(x*W1+b1) (B,H) -> *W2+b2 (B,10) -> sum loss", build_mlp},
};

std::string model_list() {
  std::string s;
  for (const DemoModel& m : kModels) s += "  " + std::string(m.name) + ": " + std::string(m.summary) + "\n";
  return s;
}

const DemoModel* find_model(std::string_view name) {
  for (const DemoModel& m : kModels)
    if (m.name == name) return &m;
  return nullptr;
}

std::string description() {
  return "Builds a demo training graph (forward, a scalar loss and the gradients of every\n"
         "parameter via grad()), compiles it, and prints the plan: steps, fused groups,\n"
         "buffers and arena sizes. Models:\n" + model_list();
}

}  // namespace

int run_explain(const Args& args) {
  DemoSize size;
  po::options_description opts("options");
  opts.add_options()
      ("help,h", "print this help and exit")
      ("model", po::value<std::string>()->value_name("NAME")->default_value("mlp"), "demo model to build")
      ("batch", po::value<int64_t>(&size.batch)->value_name("B")->default_value(size.batch), "batch size")
      ("hidden", po::value<int64_t>(&size.hidden)->value_name("H")->default_value(size.hidden), "hidden width")
      ("dot", po::value<std::string>()->value_name("FILE"),
       "also write the plan as Graphviz DOT to FILE (default: none)")
      ("graph", po::bool_switch(), "also print the graph before compiling (default: off)");
  po::variables_map vm;
  std::string text = description();
  if (!parse_command_line(args, "explain", text, opts, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_command_help(std::cout, "explain", text, opts);
    return kExitOk;
  }
  const DemoModel* model = find_model(vm["model"].as<std::string>());
  if (!model) {
    std::cerr << "loom explain: unknown model '" << vm["model"].as<std::string>() << "'; models:\n" << model_list();
    return kExitUsage;
  }
  if (size.batch < 1 || size.hidden < 1) {
    std::cerr << "loom explain: --batch and --hidden must be at least 1\n";
    return kExitUsage;
  }
  Graph g;
  DemoGraph demo = model->build(g, size);
  if (vm["graph"].as<bool>()) std::cout << "graph (" << g.size() << " nodes):\n" << g.str() << "\n";
  Plan plan = compile(g, demo.fetches);
  std::cout << plan.explain();
  if (vm.count("dot")) {
    const std::string& path = vm["dot"].as<std::string>();
    std::ofstream out(path);
    out << plan.dot();
    out.close();
    if (!out) {
      std::cerr << "loom explain: cannot write " << path << "\n";
      return kExitFailure;
    }
    std::cerr << "wrote " << path << "\n";
  }
  return kExitOk;
}

}  // namespace loom::cli
