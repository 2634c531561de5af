#include "data/wordpiece.h"

#include <algorithm>

#include "data/data_error.h"

namespace ag::data {

namespace {

bool is_utf8_continuation_byte(char byte) {
  return (static_cast<unsigned char>(byte) & 0xC0) == 0x80;
}

}  // namespace

WordPiece::WordPiece(const Vocabulary& vocabulary, std::string_view unk_token,
                     int64_t max_input_chars_per_word, std::string_view continuation_prefix)
    : word_start_(vocabulary.token_to_id()),
      unk_id_(vocabulary.id_of(unk_token)),
      max_input_chars_per_word_(max_input_chars_per_word) {
  if (unk_id_ < 0)
    throw DataError("the vocabulary has no unknown token \"" + std::string(unk_token) + "\"");
  for (const auto& [token, id] : word_start_) {
    longest_start_bytes_ = std::max(longest_start_bytes_, token.size());
    if (token.size() > continuation_prefix.size() && token.starts_with(continuation_prefix)) {
      std::string piece = token.substr(continuation_prefix.size());
      longest_continuation_bytes_ = std::max(longest_continuation_bytes_, piece.size());
      continuation_.emplace(std::move(piece), id);
    }
  }
}

void WordPiece::tokenize_word(std::string_view word, std::vector<int32_t>& ids) const {
  // Byte offsets of the code point boundaries: a piece must start and end on one.
  // (HF works on Python characters = code points, so these are its `start` and `end`.)
  int64_t code_points = 0;
  for (char byte : word) code_points += is_utf8_continuation_byte(byte) ? 0 : 1;
  if (code_points > max_input_chars_per_word_) {
    ids.push_back(unk_id_);
    return;
  }
  const std::size_t ids_before = ids.size();
  std::size_t start = 0;
  while (start < word.size()) {
    const bool first_piece = start == 0;
    const TokenIdMap& table = first_piece ? word_start_ : continuation_;
    const std::size_t longest = first_piece ? longest_start_bytes_ : longest_continuation_bytes_;
    // Try the longest candidate first, then shrink one code point at a time.
    std::size_t end = std::min(word.size(), start + longest);
    while (end < word.size() && is_utf8_continuation_byte(word[end])) --end;
    int32_t found = -1;
    while (end > start) {
      const auto it = table.find(word.substr(start, end - start));
      if (it != table.end()) {
        found = it->second;
        break;
      }
      do --end;
      while (end > start && is_utf8_continuation_byte(word[end]));
    }
    if (found < 0) {  // no piece matches here: the whole word is unknown
      ids.resize(ids_before);
      ids.push_back(unk_id_);
      return;
    }
    ids.push_back(found);
    start = end;
  }
}

}  // namespace ag::data
