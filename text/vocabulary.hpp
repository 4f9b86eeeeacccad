// A token <-> id table for one language. Ids 0..3 are reserved, as docs/MODEL.md
// fixes: <pad>=0 <unk>=1 <bos>=2 <eos>=3. Corpus tokens follow in a
// deterministic order (frequency descending, then byte-wise string order), so
// the same corpus always gives the same ids. The file form is one token per
// line, line k (0-based) holding id k, the reserved four first.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace loom::text {

struct VocabularyOptions {
  int64_t min_frequency = 1;  // tokens seen fewer times map to <unk>
  int64_t max_size = 0;       // total ids including the four reserved; 0 = no limit
};

class Vocabulary {
 public:
  static constexpr int32_t kPad = 0, kUnk = 1, kBos = 2, kEos = 3;
  static constexpr int32_t kReserved = 4;

  Vocabulary();  // only the reserved four

  // Counts tokens over tokenized sentences and keeps the most frequent ones.
  static Vocabulary build(const std::vector<std::vector<std::string>>& sentences,
                          const VocabularyOptions& options = {});
  // Tokens in id order, the reserved four first. Throws TextError naming
  // origin:position (1-based) for a missing or misplaced reserved token, an
  // empty token, a line break, invalid UTF-8 or a duplicate.
  static Vocabulary from_tokens(const std::vector<std::string>& tokens, const std::string& origin = "vocabulary");
  // Throws TextError naming path:line on an unreadable file, a missing or
  // misplaced reserved token, a duplicate, or an empty line.
  static Vocabulary load(const std::string& path);
  void save(const std::string& path) const;
  const std::vector<std::string>& tokens() const { return tokens_; }

  int32_t size() const { return int32_t(tokens_.size()); }
  // Unknown tokens map to <unk>.
  int32_t id(std::string_view token) const;
  bool contains(std::string_view token) const;
  // Throws TextError for an id out of range.
  const std::string& token(int32_t id) const;

  std::vector<int32_t> encode(const std::vector<std::string>& tokens) const;
  // Drops <pad> and <bos>, stops at the first <eos>; <unk> stays visible.
  std::vector<std::string> decode(const std::vector<int32_t>& ids) const;

 private:
  void add(std::string token);
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int32_t> ids_;
};

}  // namespace loom::text
