// `loom explain`: builds a demo training graph (forward, a scalar loss, and
// its gradients through grad()), compiles it, and prints Plan::explain();
// --dot FILE also writes Plan::dot() for Graphviz. Demo models are rows of
// kModels: adding one (an LSTM, say) is one build function and one row. The
// translator itself (--model seq2seq) is explained by tools/explain_seq2seq.cpp.
#include <fstream>
#include <iostream>

#include <random>

#include "autograd/grad.hpp"
#include "graph/check_plan.hpp"
#include "graph/plan.hpp"
#include "ops/ops.hpp"
#include "tools/commands.hpp"
#include "tools/explain_seq2seq.hpp"

namespace loom::cli {
namespace po = boost::program_options;

namespace {

struct DemoSize {
  int64_t batch = 16;
  int64_t hidden = 64;
  int64_t length = 8;
};

// What a demo model hands to the compiler: the values a training step fetches.
struct DemoGraph {
  std::vector<Value> fetches;  // loss first, then one gradient per parameter
  std::vector<std::pair<std::string, Tensor>> feeds;  // valid example inputs, for --verify
};

Tensor uniform(Shape shape, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1, 1);
  Tensor t(DType::F32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, u(rng));
  return t;
}

std::vector<Value> loss_and_grads(Var loss, const std::vector<Var>& params) {
  std::vector<Value> out{loss.value};
  for (const Var& dp : grad(loss, params)) out.push_back(dp.value);
  return out;
}

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
  std::mt19937_64 rng(1);
  return {loss_and_grads(loss, {w1, b1, w2, b2}), {{"x", uniform(x.shape(), rng)}}};
}

constexpr int64_t kLstmInputs = 32, kLstmClasses = 50;

// x: (B,S,32) lengths: (B) -> LSTM (B,S,H) -> tanh projection (B·S,H) -> output layer (B·S,50) ->
// cross-entropy against targets (B·S), padding ignored; gradients of all parameters.
DemoGraph build_lstm(Graph& g, const DemoSize& size) {
  const int64_t B = size.batch, S = size.length, H = size.hidden;
  Var x = input(g, "x", {DType::F32, {B, S, kLstmInputs}});
  Var lengths = input(g, "lengths", {DType::I32, {B}});
  Var targets = input(g, "targets", {DType::I32, {B * S}});
  Var w_ih = parameter(g, "lstm.weight_ih", {DType::F32, {4 * H, kLstmInputs}});
  Var w_hh = parameter(g, "lstm.weight_hh", {DType::F32, {4 * H, H}});
  Var b_ih = parameter(g, "lstm.bias_ih", {DType::F32, {4 * H}});
  Var b_hh = parameter(g, "lstm.bias_hh", {DType::F32, {4 * H}});
  Var w_proj = parameter(g, "proj.weight", {DType::F32, {H, H}});
  Var b_proj = parameter(g, "proj.bias", {DType::F32, {H}});
  Var w_out = parameter(g, "out.weight", {DType::F32, {kLstmClasses, H}});
  Var b_out = parameter(g, "out.bias", {DType::F32, {kLstmClasses}});
  Var zeros = ops::fill(g, {DType::F32, {B, H}}, 0.0);
  ops::LstmSequenceResult seq = ops::lstm_sequence(x, lengths, {zeros, zeros}, w_ih, w_hh, b_ih, b_hh);
  Var projected = ops::tanh(ops::linear(ops::reshape(seq.output, {B * S, H}), w_proj, b_proj));
  Var logits = ops::linear(projected, w_out, b_out);
  Var loss = named(ops::cross_entropy(logits, targets, /*ignore_index=*/-1), "loss");

  std::mt19937_64 rng(1);
  Tensor len(DType::I32, {B}), tgt(DType::I32, {B * S});
  for (int64_t b = 0; b < B; ++b) {
    int64_t n = S - b % S;  // mixed lengths, the first row full
    len.set(b, double(n));
    for (int64_t t = 0; t < S; ++t) tgt.set(b * S + t, t < n ? double((b * 7 + t * 3) % kLstmClasses) : -1.0);
  }
  return {loss_and_grads(loss, {w_ih, w_hh, b_ih, b_hh, w_proj, b_proj, w_out, b_out}),
          {{"x", uniform(x.shape(), rng)}, {"lengths", len}, {"targets", tgt}}};
}

struct DemoModel {
  std::string_view name;
  std::string_view summary;
  DemoGraph (*build)(Graph&, const DemoSize&);
};

const DemoModel kModels[] = {
    {"mlp", "2-layer MLP: x(B,32) -> tanh(x*W1+b1) (B,H) -> *W2+b2 (B,10) -> sum loss", build_mlp},
    {"lstm", "LSTM over x(B,S,32), mixed lengths -> tanh(linear) (B*S,H) -> linear (B*S,50) -> cross-entropy",
     build_lstm},
};

std::string model_list() {
  std::string s;
  for (const DemoModel& m : kModels) s += "  " + std::string(m.name) + ": " + std::string(m.summary) + "\n";
  return s + "  seq2seq: the translator's training step and decoding step (--embed, --src-len, --tgt-len, ...)\n";
}

void add_seq2seq_options(po::options_description& opts, Seq2SeqExplainSizes& z) {
  opts.add_options()
      ("embed", po::value(&z.embed)->value_name("E")->default_value(z.embed), "embedding size (seq2seq)")
      ("src-len", po::value(&z.src_len)->value_name("S")->default_value(z.src_len), "source length (seq2seq)")
      ("tgt-len", po::value(&z.tgt_len)->value_name("T")->default_value(z.tgt_len), "target length (seq2seq)")
      ("vocab", po::value(&z.vocab)->value_name("V")->default_value(z.vocab), "vocabulary size, each side (seq2seq)")
      ("layers", po::value(&z.layers)->value_name("L")->default_value(z.layers), "LSTM layers (seq2seq)")
      ("attention", po::value(&z.attention)->default_value(z.attention), "attention kind (seq2seq)")
      ("beam", po::value(&z.beam)->value_name("K")->default_value(z.beam), "rows of a decoding step (seq2seq)");
}

int run_explain_seq2seq(Seq2SeqExplainSizes z, const DemoSize& size, const po::variables_map& vm) {
  z.batch = size.batch;
  z.hidden = size.hidden;
  try {
    explain_seq2seq(z, vm.count("dot") ? vm["dot"].as<std::string>() : "", std::cout);
  } catch (const std::invalid_argument& e) {
    std::cerr << "loom explain: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "loom explain: " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitOk;
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
  Seq2SeqExplainSizes seq2seq;
  po::options_description opts("options");
  opts.add_options()
      ("help,h", "print this help and exit")
      ("model", po::value<std::string>()->value_name("NAME")->default_value("mlp"), "demo model to build")
      ("batch", po::value<int64_t>(&size.batch)->value_name("B")->default_value(size.batch), "batch size")
      ("hidden", po::value<int64_t>(&size.hidden)->value_name("H")->default_value(size.hidden), "hidden width")
      ("length", po::value<int64_t>(&size.length)->value_name("S")->default_value(size.length),
       "sequence length (lstm)")
      ("verify", po::bool_switch(),
       "also run the optimised plan beside the unoptimised graph and report any value or gradient "
       "that differs; exit 1 if one does (default: off)")
      ("dot", po::value<std::string>()->value_name("FILE"),
       "also write the plan as Graphviz DOT to FILE (default: none)")
      ("graph", po::bool_switch(), "also print the graph before compiling (default: off)");
  add_seq2seq_options(opts, seq2seq);
  po::variables_map vm;
  std::string text = description();
  if (!parse_command_line(args, "explain", text, opts, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_command_help(std::cout, "explain", text, opts);
    return kExitOk;
  }
  if (vm["model"].as<std::string>() == "seq2seq") return run_explain_seq2seq(seq2seq, size, vm);
  const DemoModel* model = find_model(vm["model"].as<std::string>());
  if (!model) {
    std::cerr << "loom explain: unknown model '" << vm["model"].as<std::string>() << "'; models:\n" << model_list();
    return kExitUsage;
  }
  if (size.batch < 1 || size.hidden < 1 || size.length < 1) {
    std::cerr << "loom explain: --batch, --hidden and --length must be at least 1\n";
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
  if (vm["verify"].as<bool>()) {
    ParameterStore params;
    params.declare_all(g);
    std::mt19937_64 rng(5);
    params.fill_uniform(rng, 0.1);
    PlanComparison cmp = compare_with_unoptimized(g, demo.fetches, demo.feeds, params);
    std::cout << "verify: " << cmp.str() << "\n";
    if (!cmp.ok()) return kExitFailure;
  }
  return kExitOk;
}

}  // namespace loom::cli
