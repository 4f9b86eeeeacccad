// Fuzzes the language models' text reader (models/lm/data.hpp): a file read
// line by line into word or character tokens, a vocabulary built from it and
// the file encoded into padded batches. Any bytes give examples or a
// TextError naming the file, never a crash, a hang or another exception; a
// batch of every example has as many loss tokens as the examples predict.
#include <cstdlib>
#include <numeric>

#include "models/lm/data.hpp"
#include "tests/fuzz/fuzz_input.hpp"
#include "text/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loom::models::lm;
  const std::string path = loom::fuzz::write_input("text_lines", data, size);
  for (Unit unit : {Unit::Word, Unit::Char}) {
    try {
      const loom::text::Vocabulary vocab = build_vocabulary(path, unit, {});
      const LmData lines(path, unit, vocab, {.batch_size = 4, .max_length = 16, .length_multiple = 4});
      if (lines.examples() == 0) std::abort();  // an empty file must be an error
      int64_t expected = 0, served = 0;
      for (int64_t i = 0; i < lines.examples(); ++i) expected += int64_t(lines.window(i).size()) - 1;
      for (const auto& batch : lines.evaluation_plan()) served += lines.make_batch(batch)->loss_tokens();
      if (served != expected) std::abort();
    } catch (const loom::text::TextError& e) {
      if (std::string(e.what()).find(path) == std::string::npos) std::abort();  // errors name the file
    }
  }
  return 0;
}
