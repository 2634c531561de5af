#pragma once
// BertTokenizer: text -> the token ids a BERT / DistilBERT checkpoint was trained with.
//
// Matches Hugging Face transformers v5's BertTokenizer -- the tokenizers-backed ("fast", Rust)
// one users get by default -- id for id; see tools/compare_tokenizer.py for the parity check:
//   1. special tokens written in the text ("[SEP]", "[MASK]", ...) are cut out first and kept
//      whole, as the added-tokens matcher does;
//   2. each remaining piece goes through BasicTokenizer (clean-up, CJK, accents, lower-case,
//      punctuation) and every word through WordPiece;
//   3. encode() adds [CLS] a [SEP] (b [SEP]), token type ids 0 for a / 1 for b, and truncates.
//
// tools/compare_tokenizer.py checks this on the real bert-base-uncased vocabulary (every SST-2
// dev phrase, a Unicode torture list, cased and uncased, pairs) and tests/test_tokenizer.cpp on
// a fixture of our own.
//
// BertTokenizerOptions::legacy_python gives the ids of transformers' Python tokenizer
// (BertTokenizerLegacy in v5, BertTokenizer in v4) instead. The two agree on ordinary text (all
// 6,735 SST-2 dev phrases) but not everywhere:
//   - final sigma: Python lower-cases a word with str.lower ("ΟΔΟΣ" -> "οδος"), the fast one
//     character by character ("οδοσ");
//   - NFC: the Python tokenizer composes the text first; the fast one does not, which shows
//     with do_lower_case=false on decomposed accents ("e" + U+0301), Hangul jamo, KELVIN SIGN;
//   - unassigned code points and noncharacters (U+0378, U+FFFF): deleted by Python (category
//     Cn counts as control), kept (as [UNK]) by the fast one;
//   - pair truncation (longest first) with an odd number of ids to share: Python gives the
//     spare id to the first text, the fast one to the longer text (the second when equal).
// The tokenizers library's character tables are older than utf8proc 2.8's Unicode 15: about a
// hundred punctuation characters added since Unicode 9 (U+2E43...) and 13 newer format
// characters are ordinary letters for it, so text using them can still tokenize differently.
// decode() follows the Python tokenizer (clean_up_tokenization_spaces defaults to true); the
// fast one's WordPiece decoder cleans up the spaces whatever that flag says.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "data/basic_tokenizer.h"
#include "data/vocabulary.h"
#include "data/wordpiece.h"

namespace ag::data {

struct BertTokenizerOptions {
  bool do_lower_case = true;
  std::optional<bool> strip_accents;  // unset: same as do_lower_case
  bool tokenize_chinese_chars = true;
  int64_t model_max_length = 512;
  int64_t max_input_chars_per_word = 100;
  bool legacy_python = false;  // the Python tokenizer's rules (see above), not the fast one's
  std::string unk_token = "[UNK]", sep_token = "[SEP]", pad_token = "[PAD]", cls_token = "[CLS]",
              mask_token = "[MASK]";
};

// One encoded text or text pair, not padded (batching pads).
struct Encoding {
  std::vector<int32_t> input_ids;
  std::vector<int32_t> token_type_ids;  // 0 for "[CLS] a [SEP]", 1 for "b [SEP]"
  std::vector<int32_t> attention_mask;  // all 1 here
};

class BertTokenizer {
 public:
  BertTokenizer(Vocabulary vocabulary, BertTokenizerOptions options = {});

  // Loads a Hugging Face tokenizer folder: vocab.txt (or else the vocabulary inside
  // tokenizer.json), and the options from tokenizer_config.json (do_lower_case, strip_accents,
  // tokenize_chinese_chars, model_max_length, special tokens) or else from tokenizer.json's
  // "normalizer". Throws DataError naming the file when something is missing or malformed.
  static BertTokenizer from_pretrained(const std::string& folder);

  // Sub-word ids of `text`, without [CLS]/[SEP] and without truncation. Appends to `ids`.
  // Throws DataError when `text` is not valid UTF-8.
  void tokenize_to_ids(std::string_view text, std::vector<int32_t>& ids) const;
  std::vector<int32_t> tokenize_to_ids(std::string_view text) const;
  // The same as token strings: tokenize("unaffable") == {"un", "##aff", "##able"}.
  std::vector<std::string> tokenize(std::string_view text) const;

  // [CLS] text [SEP], or [CLS] text [SEP] text_pair [SEP]. With max_length > 0 the result is
  // truncated to at most max_length ids: for a pair "longest first" (tokens come off the end of
  // the longer text until both are equal, then the budget is split in half, the spare id going
  // to the longer text, or to the second when both are as long). max_length must leave room
  // for the special tokens (2, or 3 for a pair).
  Encoding encode(std::string_view text, int64_t max_length = 0) const;
  Encoding encode_pair(std::string_view text, std::string_view text_pair,
                       int64_t max_length = 0) const;
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts,
                                     int64_t max_length = 0) const;

  // Ids back to text, like HF's decode: tokens joined by spaces, " ##" removed, then (by
  // default, like the Python tokenizer) the clean-up of spaces before . ? ! , and in "n't", "'s"
  // ... Unknown ids decode as [UNK].
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false,
                     bool clean_up_tokenization_spaces = true) const;
  std::vector<std::string> convert_ids_to_tokens(std::span<const int32_t> ids,
                                                 bool skip_special_tokens = false) const;

  const Vocabulary& vocabulary() const { return vocabulary_; }
  const BertTokenizerOptions& options() const { return options_; }
  int64_t vocab_size() const { return vocabulary_.size(); }
  int64_t model_max_length() const { return options_.model_max_length; }
  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t pad_id() const { return pad_id_; }
  int32_t unk_id() const { return wordpiece_.unk_id(); }
  int32_t mask_id() const { return mask_id_; }

 private:
  struct SpecialToken {
    std::string text;
    int32_t id;
  };
  bool is_special_id(int32_t id) const;

  Vocabulary vocabulary_;
  BertTokenizerOptions options_;
  BasicTokenizer basic_;
  WordPiece wordpiece_;
  std::vector<SpecialToken> special_tokens_;  // those present in the vocabulary
  int32_t cls_id_, sep_id_, pad_id_, mask_id_;
};

}  // namespace ag::data
