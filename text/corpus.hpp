// Parallel corpora: reading `source<TAB>target` files and turning them into
// token ids. Errors name the file and line ("data/x.tsv:12: missing tab").
// Policy: blank (empty or whitespace-only) lines are skipped; a trailing '\r'
// is dropped, so CRLF files read like LF files; any other ASCII control
// character (NUL, a CR inside a line, ESC, DEL ...) is an error, as is a line
// over kMaxLineBytes or a file without a single pair.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "text/vocabulary.hpp"

namespace loom::text {

struct TextPair {
  std::string source, target;
  int64_t line = 0;  // 1-based line in the file it came from
};

constexpr size_t kMaxLineBytes = 64 * 1024;

// Throws TextError naming path:line for: an unreadable file, a line without a
// tab or with more than one, an empty (or all-blank) side, invalid UTF-8, a
// control character, a line over kMaxLineBytes; and naming the file when it
// holds no pair at all.
std::vector<TextPair> read_tsv(const std::string& path);
void write_tsv(const std::string& path, const std::vector<TextPair>& pairs);

// Token ids of one pair, without any reserved token: the batcher adds <eos>
// to sources and <bos>/<eos> to targets.
struct EncodedPair {
  std::vector<int32_t> source, target;
};

struct TokenizedCorpus {
  std::vector<std::vector<std::string>> sources, targets;
};
// source_name (the file the pairs came from) prefixes errors: "file:line: ...".
TokenizedCorpus tokenize_pairs(const std::vector<TextPair>& pairs, const std::string& source_name);
std::vector<EncodedPair> encode_pairs(const TokenizedCorpus& corpus, const Vocabulary& source_vocab,
                                      const Vocabulary& target_vocab);

}  // namespace loom::text
