// Elementwise ops with NumPy broadcasting (shapes aligned from the right;
// a dim of 1 stretches). Output dtype equals the inputs' dtype (f32 or f64).
#pragma once
#include "graph/builder.hpp"

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
inline Var operator+(Var a, Var b) { return ops::add(a, b); }
inline Var operator-(Var a, Var b) { return ops::sub(a, b); }
inline Var operator*(Var a, Var b) { return ops::mul(a, b); }
inline Var operator/(Var a, Var b) { return ops::div(a, b); }
inline Var operator-(Var a) { return ops::neg(a); }
inline Var operator*(Var a, double s) { return ops::mul(a, scalar_like(a, s)); }
inline Var operator*(double s, Var a) { return ops::mul(a, scalar_like(a, s)); }
inline Var operator+(Var a, double s) { return ops::add(a, scalar_like(a, s)); }
inline Var operator-(Var a, double s) { return ops::sub(a, scalar_like(a, s)); }
inline Var operator/(Var a, double s) { return ops::div(a, scalar_like(a, s)); }
}  // namespace loom
