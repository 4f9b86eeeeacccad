// Vocabulary: building from counts, encode/decode, and the one-token-a-line
// file format. See vocabulary.hpp for the id contract.
#include "text/vocabulary.hpp"

#include <algorithm>
#include <fstream>

#include "text/tokenizer.hpp"

namespace loom::text {

namespace {
constexpr const char* kReservedTokens[Vocabulary::kReserved] = {"<pad>", "<unk>", "<bos>", "<eos>"};
}

Vocabulary::Vocabulary() {
  for (const char* t : kReservedTokens) add(t);
}

void Vocabulary::add(std::string token) {
  ids_.emplace(token, int32_t(tokens_.size()));
  tokens_.push_back(std::move(token));
}

Vocabulary Vocabulary::build(const std::vector<std::vector<std::string>>& sentences,
                             const VocabularyOptions& options) {
  std::unordered_map<std::string, int64_t> counts;
  for (const auto& sentence : sentences)
    for (const std::string& t : sentence) ++counts[t];
  Vocabulary vocab;
  std::vector<std::pair<std::string, int64_t>> ranked;
  for (auto& [token, n] : counts)
    if (n >= options.min_frequency && !vocab.contains(token)) ranked.emplace_back(token, n);
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  size_t room = options.max_size > 0 ? size_t(std::max<int64_t>(options.max_size - kReserved, 0)) : ranked.size();
  for (size_t i = 0; i < std::min(room, ranked.size()); ++i) vocab.add(ranked[i].first);
  return vocab;
}

Vocabulary Vocabulary::from_tokens(const std::vector<std::string>& tokens, const std::string& origin) {
  if (tokens.size() < size_t(kReserved)) throw TextError(origin + ": lacks the four reserved tokens");
  Vocabulary vocab;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    const std::string where = origin + ":" + std::to_string(i + 1) + ": ";
    if (i < size_t(kReserved)) {
      if (token != kReservedTokens[i])
        throw TextError(where + "expected reserved token " + kReservedTokens[i] + ", found '" + token + "'");
      continue;
    }
    if (token.empty()) throw TextError(where + "empty token");
    if (token.find_first_of("\r\n") != std::string::npos) throw TextError(where + "token holds a line break");
    if (int64_t bad = find_invalid_utf8(token); bad >= 0)
      throw TextError(where + "invalid UTF-8 at byte offset " + std::to_string(bad));
    if (vocab.contains(token)) throw TextError(where + "duplicate token '" + token + "'");
    vocab.add(token);
  }
  return vocab;
}

Vocabulary Vocabulary::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw TextError(path + ": cannot open vocabulary file for reading");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return from_tokens(lines, path);
}

void Vocabulary::save(const std::string& path) const {
  std::ofstream out(path);
  if (!out) throw TextError(path + ": cannot open vocabulary file for writing");
  for (const std::string& t : tokens_) out << t << '\n';
  if (!out) throw TextError(path + ": write failed");
}

int32_t Vocabulary::id(std::string_view token) const {
  auto it = ids_.find(std::string(token));
  return it == ids_.end() ? kUnk : it->second;
}

bool Vocabulary::contains(std::string_view token) const { return ids_.count(std::string(token)) > 0; }

const std::string& Vocabulary::token(int32_t id) const {
  if (id < 0 || id >= size())
    throw TextError("token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(size()));
  return tokens_[size_t(id)];
}

std::vector<int32_t> Vocabulary::encode(const std::vector<std::string>& tokens) const {
  std::vector<int32_t> ids;
  ids.reserve(tokens.size());
  for (const std::string& t : tokens) ids.push_back(id(t));
  return ids;
}

std::vector<std::string> Vocabulary::decode(const std::vector<int32_t>& ids) const {
  std::vector<std::string> tokens;
  for (int32_t i : ids) {
    if (i == kEos) break;
    if (i == kPad || i == kBos) continue;
    tokens.push_back(token(i));
  }
  return tokens;
}

}  // namespace loom::text
