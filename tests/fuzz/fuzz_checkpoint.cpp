// Fuzzes the checkpoint loader end to end (metadata, config, vocabularies,
// tensors, model construction): a CheckpointError or TextError, or a model.
#include "models/seq2seq/model_io.hpp"
#include "io/safetensors.hpp"
#include "tests/fuzz/fuzz_input.hpp"
#include "text/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = loom::fuzz::write_input("checkpoint", data, size);
  try {
    loom::models::load_model(path);
  } catch (const loom::models::CheckpointError&) {
  } catch (const loom::text::TextError&) {
  }
  return 0;
}
