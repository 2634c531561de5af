#pragma once
// BERT's "basic" tokenizer: text -> words, before WordPiece splits words into sub-words.
//
// By default the steps of the tokenizers library (Rust) that transformers v5's BertTokenizer
// runs: its BertNormalizer and BertPreTokenizer.
//   1. clean:  delete NUL, U+FFFD and control characters (categories Cc, Cf, Co, Cs except
//              \t \n \r; unassigned code points are kept), map whitespace (\t \n \r, Zs) to ' '.
//   2. CJK:    put spaces around every CJK ideograph, so each one becomes its own word.
//   3. split on whitespace.
//   4. per word, unless it is a "never split" word (a special token such as "[SEP]"):
//        strip accents (NFD and delete every Mn mark) when strip_accents is true, or unset and
//        do_lower_case; then lower-case each character on its own when do_lower_case
//        ("ΟΔΟΣ" -> "οδοσ": no final sigma);
//        split every punctuation character off as a word of its own.
// Words that end up empty (a lone combining accent) disappear.
//
// With legacy_python, the steps of transformers' Python BasicTokenizer
// (tokenization_bert_legacy.py) instead: unassigned code points (Cn) are deleted too, the text
// is composed (NFC) before the split, and each word is lower-cased with str.lower (final
// sigma: "ΟΔΟΣ" -> "οδος") before the accents are stripped.

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace ag::data {

struct BasicTokenizerOptions {
  bool do_lower_case = true;
  // nullopt: follow do_lower_case (original BERT). true/false: force accent stripping on/off.
  std::optional<bool> strip_accents;
  bool tokenize_chinese_chars = true;
  // transformers' Python BertTokenizerLegacy rules instead of the fast (Rust) tokenizer's.
  bool legacy_python = false;
};

class BasicTokenizer {
 public:
  explicit BasicTokenizer(BasicTokenizerOptions options = {},
                          std::vector<std::string> never_split = {});

  // Splits UTF-8 `text` into words (UTF-8), appending them to `words`.
  // Throws DataError when `text` is not valid UTF-8.
  void tokenize(std::string_view text, std::vector<std::string>& words) const;
  std::vector<std::string> tokenize(std::string_view text) const;

  const BasicTokenizerOptions& options() const { return options_; }

 private:
  // Steps 1 and 2 on code points.
  std::u32string clean_and_space_cjk(std::u32string_view text) const;
  // Step 5 for one whitespace-free word.
  void split_word(std::u32string_view word, std::vector<std::string>& words) const;

  BasicTokenizerOptions options_;
  bool strip_accents_;  // the resolved value of options_.strip_accents
  std::unordered_set<std::u32string> never_split_;
};

}  // namespace ag::data
