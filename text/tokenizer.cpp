// UTF-8 decoding, lower-casing and the word tokenizer (rules in docs/DATA.md).
// Lower-casing uses a small table for the scripts our corpora use (Latin,
// Greek, Cyrillic) rather than libutf8proc, which the build does not link yet;
// the table is the Unicode simple lower-case mapping for those blocks.
#include "text/tokenizer.hpp"

#include <array>
#include <cctype>

namespace loom::text {

// ---- UTF-8 ----------------------------------------------------------------

namespace {

// Decodes one sequence at text[i]; returns its length, or 0 when invalid.
int decode_one(std::string_view text, size_t i, char32_t& cp) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char b0 = byte(i);
  int len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > text.size()) return 0;
  if (len == 1) {
    cp = b0;
    return 1;
  }
  cp = b0 & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr std::array<char32_t, 5> kMinForLength = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

int64_t find_invalid_utf8(std::string_view text) {
  char32_t cp = 0;
  for (size_t i = 0; i < text.size();) {
    int len = decode_one(text, i, cp);
    if (len == 0) return int64_t(i);
    i += len;
  }
  return -1;
}

std::vector<char32_t> decode_utf8(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  char32_t cp = 0;
  for (size_t i = 0; i < text.size();) {
    int len = decode_one(text, i, cp);
    if (len == 0) {
      throw TextError("invalid UTF-8 at byte offset " + std::to_string(i) + " (byte 0x" +
                      "0123456789abcdef"[static_cast<unsigned char>(text[i]) >> 4] +
                      "0123456789abcdef"[static_cast<unsigned char>(text[i]) & 15] + ")");
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// ---- lower-casing ---------------------------------------------------------

char32_t to_lower(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp < 0xC0) return cp;
  if (cp <= 0xDE) return cp == 0xD7 ? cp : cp + 0x20;  // À..Þ except ×
  if (cp == 0x130) return 'i';                          // İ
  if (cp >= 0x100 && cp <= 0x137) return cp | 1;        // pairs: even upper, odd lower
  if (cp >= 0x139 && cp <= 0x148) return (cp & 1) ? cp + 1 : cp;
  if (cp >= 0x14A && cp <= 0x177) return cp | 1;
  if (cp == 0x178) return 0xFF;                         // Ÿ
  if (cp >= 0x179 && cp <= 0x17E) return (cp & 1) ? cp + 1 : cp;
  if (cp == 0x386) return 0x3AC;                        // Greek capitals with tonos
  if (cp >= 0x388 && cp <= 0x38A) return cp + 0x25;
  if (cp == 0x38C) return 0x3CC;
  if (cp == 0x38E || cp == 0x38F) return cp + 0x3F;
  if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 0x20;
  if (cp >= 0x400 && cp <= 0x40F) return cp + 0x50;     // Cyrillic Ѐ..Џ
  if (cp >= 0x410 && cp <= 0x42F) return cp + 0x20;     // А..Я
  return cp;
}

std::string lower_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : decode_utf8(text)) append_utf8(out, to_lower(cp));
  return out;
}

// ---- tokenizer ------------------------------------------------------------

namespace {

// A lower-case letter followed by a combining mark -> its precomposed form
// (the marks Spanish, French, Portuguese and German use), so NFD == NFC.
char32_t compose(char32_t base, char32_t mark) {
  struct Entry { char32_t base, mark, composed; };
  static constexpr Entry kTable[] = {
      {'a', 0x300, 0xE0}, {'e', 0x300, 0xE8}, {'i', 0x300, 0xEC}, {'o', 0x300, 0xF2}, {'u', 0x300, 0xF9},
      {'a', 0x301, 0xE1}, {'e', 0x301, 0xE9}, {'i', 0x301, 0xED}, {'o', 0x301, 0xF3}, {'u', 0x301, 0xFA},
      {'y', 0x301, 0xFD}, {'a', 0x302, 0xE2}, {'e', 0x302, 0xEA}, {'i', 0x302, 0xEE}, {'o', 0x302, 0xF4},
      {'u', 0x302, 0xFB}, {'a', 0x303, 0xE3}, {'n', 0x303, 0xF1}, {'o', 0x303, 0xF5}, {'a', 0x308, 0xE4},
      {'e', 0x308, 0xEB}, {'i', 0x308, 0xEF}, {'o', 0x308, 0xF6}, {'u', 0x308, 0xFC}, {'y', 0x308, 0xFF},
      {'c', 0x327, 0xE7}};
  for (const Entry& e : kTable)
    if (e.base == base && e.mark == mark) return e.composed;
  return 0;
}

bool is_space(char32_t cp) {
  return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200B) ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

bool is_apostrophe(char32_t cp) { return cp == '\'' || cp == 0x2019; }

bool is_digit(char32_t cp) { return cp >= '0' && cp <= '9'; }

// Every ASCII symbol but the apostrophe, Latin-1 punctuation (¡ ¿ « » ·) and
// the General Punctuation block (dashes, curly quotes, …) stand alone.
bool is_punctuation(char32_t cp) {
  if (cp < 0x80) return cp > ' ' && cp != '\'' && cp != 0x7F && !std::isalnum(int(cp));
  return cp == 0xA1 || cp == 0xBF || cp == 0xAB || cp == 0xBB || cp == 0xB7 ||
         (cp >= 0x2010 && cp <= 0x205E && cp != 0x2019);
}

std::string encode(std::u32string_view cps) {
  std::string out;
  for (char32_t cp : cps) append_utf8(out, cp);
  return out;
}

// English clitics split off the end of a word: "n't" and "'s 'm 'd 'll 're 've".
size_t clitic_length(std::u32string_view word) {
  if (word.size() > 3 && word.substr(word.size() - 3) == U"n't") return 3;
  for (std::u32string_view suffix : {U"'s", U"'m", U"'d", U"'ll", U"'re", U"'ve"}) {
    if (word.size() > suffix.size() && word.substr(word.size() - suffix.size()) == suffix) return suffix.size();
  }
  return 0;
}

// One whitespace- and punctuation-free run (apostrophes normalised to ').
void emit_word(std::u32string_view word, std::vector<std::string>& out) {
  size_t lead = 0;
  while (lead < word.size() && word[lead] == '\'') out.emplace_back("'"), ++lead;
  size_t end = word.size();
  while (end > lead && word[end - 1] == '\'') --end;
  std::u32string_view core = word.substr(lead, end - lead);
  std::vector<std::string> clitics;  // peeled from the end, emitted in reverse
  while (size_t n = clitic_length(core)) {
    clitics.push_back(encode(core.substr(core.size() - n)));
    core.remove_suffix(n);
  }
  if (!core.empty()) out.push_back(encode(core));
  out.insert(out.end(), clitics.rbegin(), clitics.rend());
  for (size_t k = end; k < word.size(); ++k) out.emplace_back("'");
}

}  // namespace

std::vector<std::string> tokenize(std::string_view text) {
  std::u32string cps;
  for (char32_t cp : decode_utf8(text)) {
    cp = to_lower(cp);
    if (is_apostrophe(cp)) cp = '\'';
    if (char32_t c = cps.empty() ? 0 : compose(cps.back(), cp)) {
      cps.back() = c;
    } else {
      cps.push_back(cp);
    }
  }
  std::vector<std::string> out;
  std::u32string word;
  for (size_t i = 0; i < cps.size(); ++i) {
    char32_t cp = cps[i];
    // "3.5" and "1,000" stay one token: a separator between two digits.
    bool in_number = (cp == '.' || cp == ',') && !word.empty() && is_digit(word.back()) &&
                     i + 1 < cps.size() && is_digit(cps[i + 1]);
    if (is_space(cp) || (is_punctuation(cp) && !in_number)) {
      if (!word.empty()) emit_word(word, out), word.clear();
      if (!is_space(cp)) out.push_back(encode(std::u32string_view(&cps[i], 1)));
    } else {
      word.push_back(cp);
    }
  }
  if (!word.empty()) emit_word(word, out);
  if (out.size() > kMaxSentenceTokens)
    throw TextError("a sentence of " + std::to_string(out.size()) + " tokens; at most " +
                    std::to_string(kMaxSentenceTokens) + " are accepted");
  return out;
}

std::string join_tokens(const std::vector<std::string>& tokens) {
  std::string out;
  for (const std::string& t : tokens) {
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

}  // namespace loom::text
