// TSV reading and writing, and tokenizing / encoding whole corpora.
#include "text/corpus.hpp"

#include <cstdio>
#include <fstream>
#include <istream>

#include "text/tokenizer.hpp"

namespace loom::text {

namespace {

bool is_blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

// The byte offset of the first ASCII control character other than TAB (NUL,
// a stray CR, ESC, DEL ...), or -1. Such bytes are never text: usually a
// binary file or a broken export, better refused than turned into tokens.
int64_t find_control_character(const std::string& line) {
  for (size_t i = 0; i < line.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return int64_t(i);
  }
  return -1;
}

TextPair parse_tsv_line(const std::string& line, const std::string& where) {
  if (int64_t bad = find_invalid_utf8(line); bad >= 0)
    throw TextError(where + "invalid UTF-8 at byte offset " + std::to_string(bad) + " of the line");
  if (int64_t bad = find_control_character(line); bad >= 0) {
    char code[8];
    std::snprintf(code, sizeof code, "0x%02x", unsigned(static_cast<unsigned char>(line[size_t(bad)])));
    throw TextError(where + "control character " + code + " at byte offset " + std::to_string(bad) +
                    " of the line (only TAB may appear; is this a text file?)");
  }
  size_t tab = line.find('\t');
  if (tab == std::string::npos) throw TextError(where + "missing tab between source and target");
  if (line.find('\t', tab + 1) != std::string::npos)
    throw TextError(where + "more than one tab (expected source<TAB>target)");
  TextPair pair{line.substr(0, tab), line.substr(tab + 1), 0};
  if (is_blank(pair.source)) throw TextError(where + "empty source side");
  if (is_blank(pair.target)) throw TextError(where + "empty target side");
  return pair;
}

// std::getline with a cap: a 10 MB line is a wrong file, not a sentence, and
// must not be read whole before that is found out.
bool read_line(std::istream& in, std::string& line, const std::string& where) {
  line.clear();
  for (int c; (c = in.get()) != std::char_traits<char>::eof();) {
    if (c == '\n') return true;
    if (line.size() == kMaxLineBytes)
      throw TextError(where + "line longer than " + std::to_string(kMaxLineBytes) + " bytes (is this a TSV file?)");
    line.push_back(char(c));
  }
  return !line.empty();
}

}  // namespace

std::vector<TextPair> read_tsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TextError(path + ": cannot open for reading");
  std::vector<TextPair> pairs;
  std::string line;
  for (int64_t line_no = 1; read_line(in, line, path + ":" + std::to_string(line_no) + ": "); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (is_blank(line)) continue;
    TextPair pair = parse_tsv_line(line, path + ":" + std::to_string(line_no) + ": ");
    pair.line = line_no;
    pairs.push_back(std::move(pair));
  }
  if (in.bad()) throw TextError(path + ": read error");
  if (pairs.empty()) throw TextError(path + ": no sentence pairs (the file is empty or holds only blank lines)");
  return pairs;
}

void write_tsv(const std::string& path, const std::vector<TextPair>& pairs) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw TextError(path + ": cannot open for writing");
  for (const TextPair& p : pairs) out << p.source << '\t' << p.target << '\n';
  if (!out) throw TextError(path + ": write failed");
}

TokenizedCorpus tokenize_pairs(const std::vector<TextPair>& pairs, const std::string& source_name) {
  TokenizedCorpus corpus;
  corpus.sources.reserve(pairs.size());
  corpus.targets.reserve(pairs.size());
  for (const TextPair& p : pairs) {
    try {
      corpus.sources.push_back(tokenize(p.source));
      corpus.targets.push_back(tokenize(p.target));
    } catch (const TextError& e) {
      throw TextError(source_name + ":" + std::to_string(p.line) + ": " + e.what());
    }
  }
  return corpus;
}

std::vector<EncodedPair> encode_pairs(const TokenizedCorpus& corpus, const Vocabulary& source_vocab,
                                      const Vocabulary& target_vocab) {
  if (corpus.sources.size() != corpus.targets.size())
    throw TextError("encode_pairs: " + std::to_string(corpus.sources.size()) + " sources but " +
                    std::to_string(corpus.targets.size()) + " targets");
  std::vector<EncodedPair> out(corpus.sources.size());
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].source = source_vocab.encode(corpus.sources[i]);
    out[i].target = target_vocab.encode(corpus.targets[i]);
  }
  return out;
}

}  // namespace loom::text
