#include "models/register_models.hpp"

#include "models/seq2seq/translator.hpp"

namespace loom::models {

void register_builtin_models() { register_seq2seq(); }

}  // namespace loom::models
