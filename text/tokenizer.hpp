// The text pipeline's first stage: UTF-8 checking, lower-casing and word
// tokenization for English and Spanish (rules in docs/DATA.md).
// Tokens are lower-cased UTF-8 strings that never contain whitespace, so a
// vocabulary file can hold one per line. Accents are kept ("Árbol" -> "árbol");
// decomposed accents (e + U+0301) are composed first, so NFC and NFD input
// give the same tokens.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace loom::text {

// Bad text or a bad text file; the message names the file:line or byte offset.
struct TextError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Decodes UTF-8 into code points. Throws TextError naming the byte offset of
// the first invalid sequence (overlong forms, surrogates, > U+10FFFF included).
std::vector<char32_t> decode_utf8(std::string_view text);
void append_utf8(std::string& out, char32_t cp);
// Byte offset of the first invalid UTF-8 sequence, or -1 when the text is valid.
int64_t find_invalid_utf8(std::string_view text);

// Simple lower-case mapping for Latin (ASCII, Latin-1, Latin Extended-A),
// Greek and Cyrillic capitals; other code points are returned unchanged.
char32_t to_lower(char32_t cp);
std::string lower_utf8(std::string_view text);

// Splits a sentence into lower-cased tokens:
//   "¿Dónde está?"  -> "¿" "dónde" "está" "?"
//   "Let's go!"     -> "let" "'s" "go" "!"
//   "don't"         -> "do" "n't"
// Throws TextError on invalid UTF-8, naming the byte offset.
// Throws TextError past kMaxSentenceTokens: a longer "sentence" is a wrong
// file or a missing line break, and would cost a plan of its own size.
std::vector<std::string> tokenize(std::string_view text);
constexpr size_t kMaxSentenceTokens = 1000;

// Joins tokens with single spaces (for display; not an inverse of tokenize).
std::string join_tokens(const std::vector<std::string>& tokens);

}  // namespace loom::text
