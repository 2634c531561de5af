#pragma once
// WordPiece: one word -> sub-word ids, by greedy longest match (transformers'
// WordpieceTokenizer).
//
// From the start of the word, take the longest prefix that is in the vocabulary; then, from
// where it ended, the longest piece that is in the vocabulary WITH the "##" continuation
// prefix; and so on to the end of the word:
//     "unaffable" -> "un", "##aff", "##able"
// If at some point no piece matches, the WHOLE word becomes [UNK] (not just the rest), and a
// word longer than max_input_chars_per_word (100) code points is [UNK] without trying.
//
// Two tables make the search allocation-free: `word_start_` is the whole vocabulary, and
// `continuation_` maps "aff" to the id of "##aff", so a piece is looked up as a string_view
// into the word. Pieces longer (in bytes) than the longest vocabulary entry are not tried:
// they cannot match, so skipping them changes nothing but the speed.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/vocabulary.h"

namespace ag::data {

class WordPiece {
 public:
  WordPiece(const Vocabulary& vocabulary, std::string_view unk_token = "[UNK]",
            int64_t max_input_chars_per_word = 100, std::string_view continuation_prefix = "##");

  // Appends the ids of one whitespace-free UTF-8 word to `ids`.
  void tokenize_word(std::string_view word, std::vector<int32_t>& ids) const;

  int32_t unk_id() const { return unk_id_; }

 private:
  TokenIdMap word_start_;
  TokenIdMap continuation_;
  std::size_t longest_start_bytes_ = 0;
  std::size_t longest_continuation_bytes_ = 0;
  int32_t unk_id_;
  int64_t max_input_chars_per_word_;
};

}  // namespace ag::data
