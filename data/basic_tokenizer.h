#pragma once
// BERT's "basic" tokenizer: text -> words, before WordPiece splits words into sub-words.
//
// The steps, in the order of transformers' BasicTokenizer.tokenize (tokenization_bert_legacy.py):
//   1. clean:  delete NUL, U+FFFD and control characters (category C* except \t \n \r), map
//              whitespace (\t \n \r and category Zs) to ' '.
//   2. CJK:    put spaces around every CJK ideograph, so each one becomes its own word.
//   3. NFC:    compose the text (so "e" + U+0301 and "é" become the same character).
//   4. split on whitespace.
//   5. per word, unless it is a "never split" word (a special token such as "[SEP]"):
//        lower-case (Python's str.lower) when do_lower_case, then strip accents (NFD and delete
//        every Mn mark) when strip_accents is true, or unset and do_lower_case;
//        split every punctuation character off as a word of its own.
// Words that end up empty (a lone combining accent) disappear.

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
