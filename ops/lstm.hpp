// LSTM, as PyTorch's nn.LSTM: gate order (i, f, g, o),
//   gates = x W_ih^T + b_ih + h W_hh^T + b_hh
//   c' = σ(f) c + σ(i) tanh(g),   h' = σ(o) tanh(c')
#pragma once
#include "graph/builder.hpp"
#include "ops/builtin_ops.hpp"

namespace loom::ops {

struct LstmState {
  Var h;  // (B, H)
  Var c;  // (B, H)
};

// One step. x: (B, In)  h, c: (B, H)  w_ih: (4H, In)  w_hh: (4H, H)  b_ih, b_hh: (4H).
LstmState lstm_cell(Var x, LstmState state, Var w_ih, Var w_hh, Var b_ih, Var b_hh,
                    std::source_location where = std::source_location::current());

struct LstmSequenceResult {
  Var output;  // (B, S, H): h at every position; zero at padded positions
  Var h;       // (B, H): h after each sequence's last real token
  Var c;       // (B, H)
};

// A whole sequence. x: (B, S, In)  lengths: (B) i32, each in [0, S]; padded
// positions (t >= length) never advance a sequence's state.
LstmSequenceResult lstm_sequence(Var x, Var lengths, LstmState initial, Var w_ih, Var w_hh, Var b_ih, Var b_hh,
                                 std::source_location where = std::source_location::current());

}  // namespace loom::ops
