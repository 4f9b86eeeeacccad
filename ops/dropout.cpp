// TEMPORARY placeholder so the skeleton links; replaced by the real family.
#include "ops/families.hpp"
#include "ops/ops.hpp"
#include "graph/errors.hpp"
namespace loom {
void register_dropout_ops(Registry&) {}
}  // namespace loom
