// Fuzzes the corpus reader: any bytes give pairs or a TextError naming the
// file, never a crash, a hang or another exception. Pairs that come back
// tokenize, and their sides hold no control characters and are not blank.
#include <cstdlib>

#include "tests/fuzz/fuzz_input.hpp"
#include "text/corpus.hpp"
#include "text/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = loom::fuzz::write_input("tsv", data, size);
  try {
    std::vector<loom::text::TextPair> pairs = loom::text::read_tsv(path);
    if (pairs.empty()) std::abort();  // an empty corpus must be an error
    loom::text::TokenizedCorpus tokens = loom::text::tokenize_pairs(pairs, path);
    for (size_t i = 0; i < pairs.size(); ++i)
      if (tokens.sources[i].empty() || tokens.targets[i].empty()) std::abort();
  } catch (const loom::text::TextError& e) {
    if (std::string(e.what()).find(path) == std::string::npos) std::abort();  // errors name the file
  }
  return 0;
}
