// Fuzzes the safetensors reader: any bytes give tensors or a CheckpointError,
// never a crash, a hang, or an allocation larger than the file warrants.
#include "io/safetensors.hpp"
#include "tests/fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = loom::fuzz::write_input("safetensors", data, size);
  try {
    loom::io::load_safetensors(path);
  } catch (const loom::io::CheckpointError&) {
  }
  return 0;
}
