// Fuzzes the tokenizer on raw bytes: invalid UTF-8 is a TextError; valid
// text gives tokens without whitespace that survive a second tokenization,
// or, past kMaxSentenceTokens, a TextError that says so.
#include <cstdlib>
#include <string_view>

#include "text/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool valid = loom::text::find_invalid_utf8(text) < 0;
  try {
    std::vector<std::string> tokens = loom::text::tokenize(text);
    if (!valid) std::abort();  // invalid UTF-8 must not pass
    for (const std::string& t : tokens) {
      if (t.empty() || t.find_first_of(" \t\r\n") != std::string::npos) std::abort();
      if (loom::text::tokenize(t).empty()) std::abort();
    }
  } catch (const loom::text::TextError& e) {
    const bool too_long = std::string_view(e.what()).find("tokens; at most") != std::string_view::npos;
    if (valid && !too_long) std::abort();  // valid UTF-8 tokenizes unless it is too long
  }
  return 0;
}
