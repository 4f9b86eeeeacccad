#include "examples/register_examples.hpp"

#include "examples/swish_op.hpp"
#include "examples/tanh_general_attention.hpp"

namespace loom::examples {

void register_examples() {
  register_swish();
  register_tanh_general_attention();
  register_shared_projection_attention();
  register_sign_sgd();
  register_gru_language_model();
}

}  // namespace loom::examples
