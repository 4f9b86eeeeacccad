// Elementwise ops with NumPy broadcasting (shapes aligned from the right;
// a dim of 1 stretches). Output dtype equals the inputs' dtype (f32 or f64).
#pragma once
#include "graph/builder.hpp"
#include "ops/builtin_ops.hpp"

namespace loom::ops {

Var add(Var a, Var b, std::source_location where = std::source_location::current());
Var sub(Var a, Var b, std::source_location where = std::source_location::current());
Var mul(Var a, Var b, std::source_location where = std::source_location::current());
Var div(Var a, Var b, std::source_location where = std::source_location::current());
Var neg(Var x, std::source_location where = std::source_location::current());
Var exp(Var x, std::source_location where = std::source_location::current());
Var log(Var x, std::source_location where = std::source_location::current());
Var sqrt(Var x, std::source_location where = std::source_location::current());
Var sigmoid(Var x, std::source_location where = std::source_location::current());
Var tanh(Var x, std::source_location where = std::source_location::current());
Var relu(Var x, std::source_location where = std::source_location::current());
// A tensor of `type` filled with `value` (no inputs; needs the graph).
Var fill(Graph& g, TensorType type, double value, std::source_location where = std::source_location::current());
Var zeros_like(Var x);

}  // namespace loom::ops

namespace loom {

// A Var plus the line where an operator was written: the conversion's default
// argument is evaluated at the caller, so `a + b` errors name the model line.
struct VarAt {
  VarAt(Var v, std::source_location where = std::source_location::current()) : var(v), where(where) {}
  Var var;
  std::source_location where;
};

inline Var operator+(VarAt a, Var b) { return ops::add(a.var, b, a.where); }
inline Var operator-(VarAt a, Var b) { return ops::sub(a.var, b, a.where); }
inline Var operator*(VarAt a, Var b) { return ops::mul(a.var, b, a.where); }
inline Var operator/(VarAt a, Var b) { return ops::div(a.var, b, a.where); }
inline Var operator-(VarAt a) { return ops::neg(a.var, a.where); }
inline Var operator*(VarAt a, double s) { return ops::mul(a.var, scalar_like(a.var, s), a.where); }
inline Var operator*(double s, VarAt a) { return ops::mul(a.var, scalar_like(a.var, s), a.where); }
inline Var operator+(VarAt a, double s) { return ops::add(a.var, scalar_like(a.var, s), a.where); }
inline Var operator-(VarAt a, double s) { return ops::sub(a.var, scalar_like(a.var, s), a.where); }
inline Var operator/(VarAt a, double s) { return ops::div(a.var, scalar_like(a.var, s), a.where); }

}  // namespace loom
