// Data movement without arithmetic. reshape so far; the rest follow.
#include "ops/shape_ops.hpp"

#include <cstring>

#include "autograd/gradcheck.hpp"
#include "autograd/vjp.hpp"
#include "ops/families.hpp"
#include "ops/op_util.hpp"

namespace loom {
namespace {

Shape resolve_reshape(const Shape& from, const std::vector<int64_t>& to) {
  Shape out;
  int infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < to.size(); ++i) {
    if (to[i] == -1) {
      if (infer_at >= 0) throw ShapeError("reshape: more than one -1 in the target shape");
      infer_at = int(i);
      out.push_back(1);
    } else {
      out.push_back(to[i]);
      known *= to[i];
    }
  }
  if (infer_at >= 0) {
    if (known == 0 || from.numel() % known) throw ShapeError("reshape: cannot infer -1 from " + from.str());
    out[infer_at] = from.numel() / known;
  }
  if (out.numel() != from.numel())
    throw ShapeError("reshape: " + from.str() + " has " + std::to_string(from.numel()) + " elements, target " +
                     out.str() + " has " + std::to_string(out.numel()));
  return out;
}

std::vector<TensorType> infer_reshape(std::span<const TensorType> in, const Attrs& a) {
  return {{in[0].dtype, resolve_reshape(in[0].shape, a.get_ints("shape"))}};
}

void copy_forward(const KernelCtx& c) {
  if (c.out[0].data != c.in[0].data) std::memcpy(c.out[0].data, c.in[0].data, c.in[0].type.bytes());
}

void vjp_reshape(VjpCtx& c) {
  Shape s = c.in(0).shape();
  c.set(0, ops::reshape(c.dout(), std::vector<int64_t>(s.dims().begin(), s.dims().end())));
}

void example_reshape(OpExample& ex) {
  Var x = ex.random_input("x", {2, 6});
  ex.outputs = {ops::reshape(x, {3, -1})};
}

}  // namespace

void register_shape_ops(Registry& r) {
  OpDef d;
  d.name = "reshape";
  d.arity = 1;
  d.flags = kInplaceOk;
  d.infer = infer_reshape;
  d.forward = copy_forward;
  d.vjp = vjp_reshape;
  d.example = example_reshape;
  r.add(std::move(d));
}

namespace ops {
Var reshape(Var x, std::vector<int64_t> shape, std::source_location where) {
  static const OpId id = op_id("reshape");
  return apply(id, {x}, {{"shape", std::move(shape)}}, {}, where);
}
}  // namespace ops
}  // namespace loom
