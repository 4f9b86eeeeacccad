// Attention as a pluggable layer (docs/MODEL.md, Attention). A layer turns decoder
// outputs d (B,T,H) and encoder outputs e (B,S,H) into scores (B,T,S), takes a
// softmax over the source positions with padded positions excluded, and
// returns the weights and the context c_t = Σ_s α_ts e_s. Layers are built
// from graph ops alone, so autograd and the compiler handle them; their
// parameters are named "attention.*" and requested through the inputs'
// `parameter` callback, so one build function serves training graphs,
// decoding graphs and gradient checks. attention_registry() maps each kind's
// name to its help line and factory: the built-ins of attention.cpp, then any
// a program adds (examples/: tanh-general by a call, shared-projection by
// registering itself before main).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "graph/builder.hpp"
#include "graph/named_registry.hpp"
#include "runtime/plan_runtime.hpp"

namespace loom::models::seq2seq {

// Returns the Var for the parameter `name` of shape `shape` (a parameter node
// in a model graph, an input in a gradient check).
using runtime::ParameterSource;

struct AttentionInputs {
  Var decoder;   // (B,T,H) decoder outputs d_t
  Var encoder;   // (B,S,H) encoder outputs e_s; zero at padded positions
  Var mask;      // (B,1,S) float, 1 = real source token, 0 = padding
  int64_t hidden = 0;           // H
  ParameterSource parameter;    // names must start with "attention."
};

struct AttentionOutput {
  Var context;  // (B,T,H); left empty (graph == nullptr) by a layer without context
  Var weights;  // (B,T,S); rows sum to 1 over real positions, 0 on padding
};

class Attention {
 public:
  virtual ~Attention() = default;
  virtual std::string name() const = 0;
  virtual AttentionOutput build(Graph& g, const AttentionInputs& in) const = 0;
};

// The shared tail of every scoring layer: weights = softmax(scores) over S
// with the mask, context = weights · e (a batched matmul).
// scores: (B,T,S)  mask: (B,1,S)  encoder: (B,S,H)
AttentionOutput attend(Var scores, const AttentionInputs& in);

using AttentionRegistry = NamedRegistry<std::unique_ptr<Attention>>;
using AttentionFactory = AttentionRegistry::Factory;

// Every attention kind, sorted by name. Add one with
// attention_registry().add(name, help, factory).
AttentionRegistry& attention_registry();
// The kinds attention.cpp defines; the PyTorch twin (tests/python/loom_torch.py)
// implements exactly these, the others being a user's own.
std::vector<std::string> builtin_attention_names();

// Shorthands for attention_registry(): add (throws std::invalid_argument if
// the name is taken or empty), look up, build (throws std::invalid_argument
// naming the unknown kind and every known one), list (sorted).
void register_attention(const std::string& name, AttentionFactory factory, std::string help = "a user's attention");
bool has_attention(std::string_view name);
std::unique_ptr<Attention> make_attention(std::string_view name);
std::vector<std::string> attention_names();

}  // namespace loom::models::seq2seq
