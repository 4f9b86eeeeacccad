#include "models/register_models.hpp"

#include "models/lm/family.hpp"
#include "models/seq2seq/translator.hpp"

namespace loom::models {

void register_builtin_models() {
  models::seq2seq::register_seq2seq();
  lm::register_lm();
}

}  // namespace loom::models
