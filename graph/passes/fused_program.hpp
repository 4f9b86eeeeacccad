// The small program a "fused_elementwise" node carries in its attrs, shared
// by the fusion pass (which writes it) and the fused op (which runs it).
// attrs "program" = int list, three ints per instruction: op id, operand a,
// operand b (-1 for unary ops). Operands index the node's inputs first
// (0 .. n_inputs-1), then earlier instructions (n_inputs + j). The last
// instruction's result is the node's output.
#pragma once
#include <string>
#include <vector>

#include "graph/attrs.hpp"
#include "graph/errors.hpp"
#include "graph/op_def.hpp"

namespace loom::fused {

struct Instr {
  OpId op;
  int32_t a;
  int32_t b;  // -1: unary
};

inline constexpr const char* kOpName = "fused_elementwise";
inline constexpr const char* kProgramKey = "program";
// The kernel keeps one stack block per instruction and per input. A chain of
// k unary/binary instructions reads at most k + 1 values from outside.
inline constexpr int kMaxInstrs = 12;
inline constexpr int kMaxInputs = kMaxInstrs + 1;

inline Attrs encode(const std::vector<Instr>& program) {
  std::vector<int64_t> ints;
  for (const Instr& i : program) ints.insert(ints.end(), {int64_t(i.op), i.a, i.b});
  return Attrs{{kProgramKey, ints}};
}

// Decodes and checks operand ranges; throws ShapeError on a malformed program.
inline std::vector<Instr> decode(const Attrs& attrs, size_t n_inputs) {
  const std::vector<int64_t>& ints = attrs.get_ints(kProgramKey);
  if (ints.empty() || ints.size() % 3) throw ShapeError("fused_elementwise: program must be op,a,b triples");
  std::vector<Instr> out;
  for (size_t k = 0; k < ints.size(); k += 3) {
    int64_t limit = int64_t(n_inputs + out.size());
    Instr in{OpId(ints[k]), int32_t(ints[k + 1]), int32_t(ints[k + 2])};
    if (ints[k] < 0 || in.a < 0 || in.a >= limit || in.b < -1 || in.b >= limit)
      throw ShapeError("fused_elementwise: instruction " + std::to_string(out.size()) + " reads a missing operand");
    out.push_back(in);
  }
  return out;
}

}  // namespace loom::fused
