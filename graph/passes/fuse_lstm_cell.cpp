// Pass fuse_lstm_cell: finds an LSTM cell written from primitive ops and
// replaces it by one "lstm_cell" node (ops/lstm.cpp), whose kernel runs both
// GEMMs through one prepared plan and the gate nonlinearities and cell update
// in one fused loop. The pattern, PyTorch gate order (i, f, g, o):
//   G  = matmul(x, w_ih, tb) + matmul(h, w_hh, tb) + b_ih + b_hh   (any association)
//   i, f, g, o = slices [0,H) [H,2H) [2H,3H) [3H,4H) of G's last axis
//   c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
//   h' = sigmoid(o) * tanh(c')
// add and mul operands may come in either order.
// Pre:  a verified program; runs before fuse_elementwise, which would hide
//       the activations and products inside fused nodes.
// Post: every match whose operands have exactly the types lstm_cell's shape
//       rule accepts (f32 or f64), and in which the only values read outside
//       the pattern or fetched are h', c', the gate activations and tanh(c'),
//       is one lstm_cell node at the position of c'; h' and c' are its
//       outputs 0 and 1. Outside readers of an activation (the backward of a
//       differentiated cell) read a slice of the cell's saved activations
//       (output 2) instead, and those of tanh(c') a tanh of output 1; any
//       other escaping value (the pre-activations, a product) leaves the
//       cell as built.
#include <algorithm>
#include <optional>

#include "graph/errors.hpp"
#include "graph/passes/passes.hpp"
#include "graph/passes/rewrite.hpp"

namespace loom {
namespace {

constexpr const char* kCellOp = "lstm_cell";
constexpr int kTanhOfCell = -1;

// An interior value lstm_cell can still provide to readers outside the
// pattern: gate k's activation is a slice of its saved output 2 (i, f, g, o),
// tanh(c') is recomputed from output 1.
struct Provided {
  uint32_t node;
  int gate;  // 0..3, or kTanhOfCell
};

struct CellMatch {
  // Operands in lstm_cell's order: x h c w_ih w_hh b_ih b_hh.
  std::vector<Value> operands;
  NodeId h_next, c_next;
  std::vector<uint32_t> interior;  // every pattern node except h' and c'
  std::vector<Provided> providable;
  std::vector<Provided> escaping;  // those read from outside or fetched
};

// The single-output op node behind `v` if its op is `op`, else null.
const Node* node_if(const Graph& g, Value v, std::string_view op) {
  const Node& n = g.node(v.node);
  if (v.index != 0 || n.outputs.size() != 1 || op_def(n.op).name != op) return nullptr;
  return &n;
}

class CellMatcher {
 public:
  explicit CellMatcher(const Graph& g) : g_(g) {}

  // The cell whose h' is node `root`, if it matches the pattern.
  std::optional<CellMatch> match(NodeId root) {
    m_ = CellMatch{};
    gates_.reset();
    m_.h_next = root;
    const Node* h_next = node_if(g_, {root, 0}, "mul");
    if (!h_next || !either_order(*h_next, [&](Value a, Value b) { return output_gate(a, b); })) return std::nullopt;
    const Node& c_next = g_.node(m_.c_next);
    if (!either_order(c_next, [&](Value a, Value b) { return forget_term(a) && input_term(b); })) return std::nullopt;
    if (!gate_sum(*gates_)) return std::nullopt;
    return m_;
  }

 private:
  // Tries pred(in0, in1), then pred(in1, in0); what a failed try recorded
  // is forgotten.
  template <class Pred>
  bool either_order(const Node& n, Pred pred) {
    if (n.inputs.size() != 2) return false;
    CellMatch saved = m_;
    std::optional<Value> saved_gates = gates_;
    for (int first : {0, 1}) {
      if (pred(n.inputs[size_t(first)], n.inputs[size_t(1 - first)])) return true;
      m_ = saved;
      gates_ = saved_gates;
    }
    return false;
  }

  // h' = sigmoid(o) * tanh(c'): records c'.
  bool output_gate(Value a, Value b) {
    const Node* t = node_if(g_, b, "tanh");
    if (!t || !gate(a, "sigmoid", 3) || !node_if(g_, t->inputs[0], "add")) return false;
    m_.interior.push_back(b.node.v);
    m_.providable.push_back({b.node.v, kTanhOfCell});
    m_.c_next = t->inputs[0].node;
    return true;
  }

  // sigmoid(f) * c: records c, the previous cell state.
  bool forget_term(Value v) {
    const Node* n = node_if(g_, v, "mul");
    if (!n) return false;
    return either_order(*n, [&](Value a, Value b) {
      if (!gate(a, "sigmoid", 1)) return false;
      m_.interior.push_back(v.node.v);
      m_.operands = {b};
      return true;
    });
  }

  // sigmoid(i) * tanh(g).
  bool input_term(Value v) {
    const Node* n = node_if(g_, v, "mul");
    if (!n) return false;
    return either_order(*n, [&](Value a, Value b) {
      if (!gate(a, "sigmoid", 0) || !gate(b, "tanh", 2)) return false;
      m_.interior.push_back(v.node.v);
      return true;
    });
  }

  // `act` is activation(slice k of the gate pre-activations G, last axis);
  // every gate must slice the same G (B,4H).
  bool gate(Value act, std::string_view activation, int64_t k) {
    const Node* a = node_if(g_, act, activation);
    if (!a) return false;
    const Node* s = node_if(g_, a->inputs[0], "slice");
    if (!s) return false;
    Value gates = s->inputs[0];
    const Shape& shape = g_.type(gates).shape;
    if (shape.rank() != 2 || shape[1] % 4 != 0 || (gates_ && *gates_ != gates)) return false;
    int64_t four_h = shape[1], h = four_h / 4;
    int64_t axis = s->attrs.get_int("axis"), begin = s->attrs.get_int("begin"), end = s->attrs.get_int("end");
    if (axis != 1 && axis != -1) return false;
    if (begin < 0) begin += four_h;
    if (end < 0) end += four_h;
    if (begin != k * h || end != (k + 1) * h) return false;
    gates_ = gates;
    m_.interior.push_back(act.node.v);
    m_.providable.push_back({act.node.v, int(k)});
    m_.interior.push_back(a->inputs[0].node.v);
    return true;
  }

  // G as a sum of two matmul(a, w, transpose_b) terms and two (4H) biases.
  bool gate_sum(Value gates) {
    std::vector<Value> products, biases, pending{gates};
    const TensorType& type = g_.type(gates);
    while (!pending.empty() && products.size() + biases.size() <= 4) {
      Value v = pending.back();
      pending.pop_back();
      const Node* add = node_if(g_, v, "add");
      if (add && g_.type(v) == type) {
        m_.interior.push_back(v.node.v);
        pending.insert(pending.end(), add->inputs.rbegin(), add->inputs.rend());  // leaves left to right
      } else if (is_projection(v, type)) {
        products.push_back(v);
      } else if (g_.type(v).shape == Shape{type.shape[1]}) {
        biases.push_back(v);
      } else {
        return false;
      }
    }
    if (!pending.empty() || products.size() != 2 || biases.size() != 2) return false;
    assign_operands(products, biases);
    return true;
  }

  // matmul(a, w, transpose_a=0, transpose_b=1) of rank 2 with G's type.
  bool is_projection(Value v, const TensorType& type) const {
    const Node* n = node_if(g_, v, "matmul");
    return n && g_.type(v) == type && n->attrs.get_int("transpose_a", 0) == 0 &&
           n->attrs.get_int("transpose_b", 0) == 1;
  }

  // The product whose left operand is (B,H) is the recurrent one; when both
  // are, the sum is symmetric and the order written is kept.
  void assign_operands(std::vector<Value>& products, const std::vector<Value>& biases) {
    const Shape& c = g_.type(m_.operands.at(0)).shape;
    auto lhs = [&](Value p) { return g_.node(p.node).inputs[0]; };
    if (!(g_.type(lhs(products[1])).shape == c)) std::swap(products[0], products[1]);
    const Node& ih = g_.node(products[0].node);
    const Node& hh = g_.node(products[1].node);
    m_.interior.push_back(products[0].node.v);
    m_.interior.push_back(products[1].node.v);
    Value prev_c = m_.operands[0];
    m_.operands = {ih.inputs[0], hh.inputs[0], prev_c, ih.inputs[1], hh.inputs[1], biases[0], biases[1]};
  }

  const Graph& g_;
  CellMatch m_;
  std::optional<Value> gates_;
};

struct Readers {
  std::vector<std::vector<uint32_t>> of;  // node id -> ids of the nodes reading it
  std::vector<char> is_output;
};

Readers find_readers(const Program& p) {
  Readers r{std::vector<std::vector<uint32_t>>(p.graph.size()), std::vector<char>(p.graph.size(), 0)};
  for (uint32_t id = 0; id < p.graph.size(); ++id)
    for (const Value& v : p.graph.node({id}).inputs) r.of[v.node.v].push_back(id);
  for (const Value& v : p.outputs) r.is_output[v.node.v] = 1;
  return r;
}

// Interior values read from outside the pattern or fetched must be ones
// lstm_cell provides (a training graph's backward reads the activations and
// tanh(c')), and read only after c', where the lstm_cell node will stand;
// records them in m.escaping.
bool only_provided_escape(const Readers& r, CellMatch& m, const std::vector<uint32_t>& all) {
  auto inside = [&](uint32_t id) { return std::binary_search(all.begin(), all.end(), id); };
  for (uint32_t id : m.interior) {
    bool escapes = r.is_output[id];
    for (uint32_t reader : r.of[id]) {
      if (inside(reader)) continue;
      if (reader < m.c_next.v) return false;
      escapes = true;
    }
    if (!escapes) continue;
    auto p = std::find_if(m.providable.begin(), m.providable.end(), [&](const Provided& q) { return q.node == id; });
    if (p == m.providable.end()) return false;
    m.escaping.push_back(*p);
  }
  return true;
}

// The match may replace its nodes: they are distinct and unclaimed, only h',
// c' and values lstm_cell provides leave the pattern, no operand is computed
// inside it, and lstm_cell's shape rule gives h' and c' their exact types.
bool replaceable(const Graph& g, const Readers& r, CellMatch& m, const std::vector<char>& claimed) {
  std::vector<uint32_t> all = m.interior;
  all.push_back(m.h_next.v);
  all.push_back(m.c_next.v);
  std::sort(all.begin(), all.end());
  if (std::adjacent_find(all.begin(), all.end()) != all.end()) return false;
  auto inside = [&](uint32_t id) { return std::binary_search(all.begin(), all.end(), id); };
  for (uint32_t id : all) if (claimed[id]) return false;
  if (!only_provided_escape(r, m, all)) return false;
  std::vector<TensorType> types;
  for (const Value& v : m.operands) {
    if (inside(v.node.v)) return false;
    types.push_back(g.type(v));
  }
  try {
    std::vector<TensorType> out = op_def(op_id(kCellOp)).infer(types, Attrs{});
    return out[0] == g.node(m.h_next).outputs[0] && out[1] == g.node(m.c_next).outputs[0];
  } catch (const ShapeError&) {
    return false;
  }
}

Node cell_node(const Graph& g, const GraphRewriter& rw, const CellMatch& m) {
  static const OpId cell = op_id(kCellOp);
  std::vector<TensorType> types;
  std::vector<Value> inputs;
  for (const Value& v : m.operands) {
    types.push_back(g.type(v));
    inputs.push_back(rw.map(v));
  }
  const Node& h_next = g.node(m.h_next);
  return Node{cell, std::move(inputs), Attrs{}, op_def(cell).infer(types, Attrs{}), h_next.name, h_next.site,
              nullptr};
}

// Redirects each escaping interior value to what `cell` provides in its place.
void provide_escaping(const Graph& g, GraphRewriter& rw, const CellMatch& m, NodeId cell) {
  static const OpId slice = op_id("slice"), tanh = op_id("tanh");
  for (const Provided& p : m.escaping) {
    const Node& old = g.node({p.node});
    const int64_t h = old.outputs[0].shape[1];
    Node n = p.gate == kTanhOfCell
                 ? Node{tanh, {{cell, 1}}, Attrs{}, old.outputs, old.name, old.site, nullptr}
                 : Node{slice, {{cell, 2}}, Attrs{{"axis", int64_t(1)}, {"begin", p.gate * h}, {"end", (p.gate + 1) * h}},
                        old.outputs, old.name, old.site, nullptr};
    rw.redirect({p.node}, {{rw.append(std::move(n)), 0}});
  }
}

}  // namespace

void run_fuse_lstm_cell(Program& program, const CompileOptions&) {
  if (!registry().contains(kCellOp)) return;
  const Graph& g = program.graph;
  Readers readers = find_readers(program);
  CellMatcher matcher(g);
  std::vector<CellMatch> cells;
  std::vector<char> claimed(g.size(), 0);
  std::vector<int32_t> cell_at(g.size(), -1);  // c' id -> its match
  for (uint32_t id = 0; id < g.size(); ++id) {
    std::optional<CellMatch> m = matcher.match({id});
    if (!m || !replaceable(g, readers, *m, claimed)) continue;
    for (uint32_t n : m->interior) claimed[n] = 1;
    claimed[m->h_next.v] = claimed[m->c_next.v] = 1;
    cell_at[m->c_next.v] = int32_t(cells.size());
    cells.push_back(std::move(*m));
  }
  if (cells.empty()) return;
  GraphRewriter rw(g);
  for (uint32_t id = 0; id < g.size(); ++id) {
    if (cell_at[id] >= 0) {
      // Every operand is an ancestor of c', so all are mapped by now.
      const CellMatch& m = cells[size_t(cell_at[id])];
      NodeId cell = rw.append(cell_node(g, rw, m));
      rw.redirect(m.c_next, {{cell, 1}});
      rw.redirect(m.h_next, {{cell, 0}});
      provide_escaping(g, rw, m, cell);
    } else if (!claimed[id]) {
      rw.copy({id});
    }
  }
  program = rw.finish(program.outputs);
}

}  // namespace loom
