#pragma once
// Unicode helpers for the BERT tokenizer: UTF-8 decoding with validation, and the character
// classes that Hugging Face's BasicTokenizer uses, built on utf8proc.
//
// Every predicate below reproduces a Python function of transformers (tokenization_python.py /
// tokenization_bert_legacy.py) or a Python `str` method, so that our ids match theirs:
//   is_bert_whitespace   <- _is_whitespace      is_bert_control <- _is_control
//   is_bert_punctuation  <- _is_punctuation     is_cjk_ideograph <- _is_chinese_char
//   is_python_space      <- str.isspace (what str.split() splits on)
//   python_lower         <- str.lower (full case mapping, including final sigma)
//
// Unicode version: utf8proc 2.8 knows Unicode 15.0; Python 3.11's unicodedata knows 14.0. For
// every code point assigned in Unicode 14 the categories, simple lower-case mappings and NFD
// decompositions agree exactly (checked over all 1,112,064 code points). The 4,489 code points
// new in 15.0 (e.g. U+1FAE8 SHAKING FACE, CJK extension H) are "unassigned" (category Cn, hence
// "control" and dropped) for Python 3.11 but real characters for us and for Python >= 3.12.

#include <cstddef>
#include <string>
#include <string_view>

namespace ag::data::unicode {

// Byte offset of the first invalid UTF-8 sequence in `bytes`, or std::string_view::npos when
// all of it is valid. Invalid means: a bad lead or continuation byte, a truncated sequence, an
// overlong encoding, a UTF-16 surrogate (U+D800..U+DFFF) or a value above U+10FFFF -- exactly
// what Python's "utf-8" codec rejects.
std::size_t find_invalid_utf8(std::string_view bytes);

// Decodes UTF-8 into code points. Throws DataError("<what>: invalid UTF-8 at byte offset N").
std::u32string decode_utf8(std::string_view bytes, std::string_view what = "text");

// Appends the UTF-8 encoding of one code point (which must be valid) to `out`.
void append_utf8(std::string& out, char32_t code_point);
std::string encode_utf8(std::u32string_view code_points);

// BERT's whitespace: ' ', \t, \n, \r and every Zs (space separator) character.
bool is_bert_whitespace(char32_t c);
// BERT's control characters: every category C* (Cc, Cf, Cs, Co, Cn) except \t, \n, \r.
// Note that this includes the format characters (zero-width joiner U+200D, BOM U+FEFF, soft
// hyphen U+00AD), private-use and unassigned code points: all are deleted by clean-up.
bool is_bert_control(char32_t c);
// BERT's punctuation: every non-alphanumeric printable ASCII character (so also $ + < = > ^ `
// | ~, which Unicode calls symbols) and every Unicode P* character.
bool is_bert_punctuation(char32_t c);
// The CJK ideograph blocks of BERT's _is_chinese_char (not Hiragana, Katakana nor Hangul).
bool is_cjk_ideograph(char32_t c);
// Category Mn (non-spacing mark): what accent stripping deletes after NFD.
bool is_nonspacing_mark(char32_t c);
// Python's str.isspace(): the characters str.split() splits on.
bool is_python_space(char32_t c);
// Category Cn: not assigned in utf8proc's Unicode version (15.0).
bool is_unassigned(char32_t c);

// Canonical decomposition (NFD) and canonical composition (NFC), as unicodedata.normalize.
std::u32string nfd(std::u32string_view text);
std::u32string nfc(std::u32string_view text);

// Python's str.lower() of `text`: the simple lower-case mapping of each character, except
//   - U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE becomes "i" + U+0307 (its full mapping);
//   - U+03A3 GREEK CAPITAL SIGMA becomes final sigma U+03C2 at the end of a word (after a cased
//     letter and not before one, ignoring case-ignorable characters), else U+03C3.
// Both are what utf8proc_tolower alone would get wrong.
std::u32string python_lower(std::u32string_view text);
// Rust's char::to_lowercase applied to each character, as the tokenizers library's
// BertNormalizer does: python_lower without the final-sigma rule (U+03A3 is always U+03C3).
std::u32string lower_each_character(std::u32string_view text);

}  // namespace ag::data::unicode
