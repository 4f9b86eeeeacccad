// TSV reading and writing, and tokenizing / encoding whole corpora.
#include "text/corpus.hpp"

#include <fstream>

#include "text/tokenizer.hpp"

namespace loom::text {

namespace {

bool is_blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

TextPair parse_tsv_line(const std::string& line, const std::string& where) {
  if (int64_t bad = find_invalid_utf8(line); bad >= 0)
    throw TextError(where + "invalid UTF-8 at byte offset " + std::to_string(bad) + " of the line");
  size_t tab = line.find('\t');
  if (tab == std::string::npos) throw TextError(where + "missing tab between source and target");
  if (line.find('\t', tab + 1) != std::string::npos)
    throw TextError(where + "more than one tab (expected source<TAB>target)");
  TextPair pair{line.substr(0, tab), line.substr(tab + 1), 0};
  if (is_blank(pair.source)) throw TextError(where + "empty source side");
  if (is_blank(pair.target)) throw TextError(where + "empty target side");
  return pair;
}

}  // namespace

std::vector<TextPair> read_tsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TextError(path + ": cannot open for reading");
  std::vector<TextPair> pairs;
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    TextPair pair = parse_tsv_line(line, path + ":" + std::to_string(line_no) + ": ");
    pair.line = line_no;
    pairs.push_back(std::move(pair));
  }
  if (in.bad()) throw TextError(path + ": read error");
  return pairs;
}

void write_tsv(const std::string& path, const std::vector<TextPair>& pairs) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw TextError(path + ": cannot open for writing");
  for (const TextPair& p : pairs) out << p.source << '\t' << p.target << '\n';
  if (!out) throw TextError(path + ": write failed");
}

TokenizedCorpus tokenize_pairs(const std::vector<TextPair>& pairs) {
  TokenizedCorpus corpus;
  corpus.sources.reserve(pairs.size());
  corpus.targets.reserve(pairs.size());
  for (const TextPair& p : pairs) {
    corpus.sources.push_back(tokenize(p.source));
    corpus.targets.push_back(tokenize(p.target));
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
