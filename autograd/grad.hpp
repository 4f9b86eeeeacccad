// Symbolic reverse mode: grad(loss, wrt) appends to loss's graph the nodes
// that compute d loss / d wrt[i], and returns them in wrt's order. The walk is
// iterative, in reverse id order (ids are topological); adjoints of a value
// used several times are summed; broadcast adjoints are reduced to the
// input's shape here, once, so gradient rules never do it.
#pragma once
#include <vector>

#include "graph/builder.hpp"

namespace loom {

// loss must be a scalar (rank 0 or one element). Values in wrt that loss does
// not depend on get a zero gradient.
std::vector<Var> grad(Var loss, const std::vector<Var>& wrt);

// Sums g over the axes along which `shape` was broadcast, then reshapes to `shape`.
Var reduce_to_shape(Var g, const Shape& shape);

}  // namespace loom
