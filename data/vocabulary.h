#pragma once
// A WordPiece vocabulary: token string <-> id.
//
// Two sources, as in Hugging Face:
//   vocab.txt       one token per line, the id is the line number (0-based). Like Python's
//                   readlines() in text mode, "\n", "\r\n" and "\r" all end a line, and a token
//                   that appears twice keeps the id of its LAST line.
//   tokenizer.json  the "model": {"type": "WordPiece", "vocab": {token: id}} object, plus its
//                   "added_tokens" list.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ag::data {

// Hash that lets an unordered_map<std::string, ...> be searched with a std::string_view
// without building a temporary std::string (C++20 heterogeneous lookup).
struct StringViewHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenIdMap = std::unordered_map<std::string, int32_t, StringViewHash, std::equal_to<>>;

class Vocabulary {
 public:
  Vocabulary() = default;
  // `tokens[i]` gets id i (a repeated token keeps its last id).
  explicit Vocabulary(std::vector<std::string> tokens);

  // Throw DataError naming the file (and line / key) when it is missing or malformed.
  static Vocabulary from_vocab_txt(const std::string& path);
  static Vocabulary from_tokenizer_json(const std::string& path);

  // -1 when `token` is not in the vocabulary.
  int32_t id_of(std::string_view token) const;
  bool contains(std::string_view token) const { return id_of(token) >= 0; }
  // The token string of `id`; throws std::out_of_range for an id outside [0, size()).
  const std::string& token_of(int32_t id) const;

  int64_t size() const { return static_cast<int64_t>(id_to_token_.size()); }
  const TokenIdMap& token_to_id() const { return token_to_id_; }

 private:
  TokenIdMap token_to_id_;
  std::vector<std::string> id_to_token_;
};

}  // namespace ag::data
