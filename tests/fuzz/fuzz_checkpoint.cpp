// Fuzzes the checkpoint loader end to end for every registered model
// (runtime::load_model: metadata, model kind, config checked against the
// tensors, vocabularies, tensors, model construction): a CheckpointError or
// TextError, or a model. Seeds: a translator, a language model and the GRU
// example's model.
#include "examples/register_examples.hpp"
#include "io/safetensors.hpp"
#include "models/register_models.hpp"
#include "runtime/model_family.hpp"
#include "tests/fuzz/fuzz_input.hpp"
#include "text/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool registered = [] {
    loom::models::register_builtin_models();
    loom::examples::register_examples();
    return true;
  }();
  (void)registered;
  const std::string path = loom::fuzz::write_input("checkpoint", data, size);
  try {
    loom::runtime::load_model(path);
  } catch (const loom::io::CheckpointError&) {
  } catch (const loom::text::TextError&) {
  }
  return 0;
}
