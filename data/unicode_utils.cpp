#include "data/unicode_utils.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <memory>

#include "data/data_error.h"

namespace ag::data::unicode {

namespace {

// Decodes one UTF-8 sequence starting at bytes[i]. Returns its length (1..4) and stores the
// code point, or returns 0 when the sequence is invalid.
//
// UTF-8 in one table (Unicode 15, table 3-7, "well-formed byte sequences"):
//   U+0000..U+007F     0xxxxxxx
//   U+0080..U+07FF     110xxxxx 10xxxxxx                  (lead C2..DF: C0, C1 are overlong)
//   U+0800..U+FFFF     1110xxxx 10xxxxxx 10xxxxxx         (E0 needs A0..BF next, ED 80..9F)
//   U+10000..U+10FFFF  11110xxx 10xxxxxx 10xxxxxx 10xxxxxx (F0 needs 90..BF next, F4 80..8F)
std::size_t decode_one(std::string_view bytes, std::size_t i, char32_t& code_point) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  const std::size_t remaining = bytes.size() - i;
  const unsigned char lead = byte(i);
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  }
  std::size_t length = 0;
  unsigned char second_min = 0x80, second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // below: overlong
    if (lead == 0xED) second_max = 0x9F;  // above: surrogates D800..DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // below: overlong
    if (lead == 0xF4) second_max = 0x8F;  // above: beyond U+10FFFF
  } else {
    return 0;  // a continuation byte, C0/C1 or F5..FF cannot start a sequence
  }
  if (remaining < length) return 0;
  if (byte(i + 1) < second_min || byte(i + 1) > second_max) return 0;
  char32_t value = lead & (0x7F >> length);
  for (std::size_t k = 1; k < length; ++k) {
    const unsigned char continuation = byte(i + k);
    if ((continuation & 0xC0) != 0x80) return 0;
    value = (value << 6) | (continuation & 0x3F);
  }
  code_point = value;
  return length;
}

utf8proc_category_t category(char32_t c) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

// Runs utf8proc_map (which works on UTF-8) on code points.
std::u32string utf8proc_normalize(std::u32string_view text, int options) {
  const std::string bytes = encode_utf8(text);
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(bytes.data()),
                   static_cast<utf8proc_ssize_t>(bytes.size()), &mapped,
                   static_cast<utf8proc_option_t>(options | UTF8PROC_STABLE));
  if (length < 0)
    throw DataError(std::string("unicode normalisation failed: ") + utf8proc_errmsg(length));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
  return decode_utf8(
      std::string_view(reinterpret_cast<const char*>(mapped), static_cast<std::size_t>(length)));
}

// Unicode's Case_Ignorable property (used by the final-sigma rule): categories Mn, Me, Cf, Lm,
// Sk, plus the Word_Break classes MidLetter, MidNumLet and Single_Quote.
bool is_case_ignorable(char32_t c) {
  constexpr char32_t kMidLetterMidNumLetSingleQuote[] = {
      0x0027, 0x002E, 0x003A, 0x00B7, 0x0387, 0x055F, 0x05F4, 0x2018, 0x2019,
      0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};
  if (std::find(std::begin(kMidLetterMidNumLetSingleQuote),
                std::end(kMidLetterMidNumLetSingleQuote),
                c) != std::end(kMidLetterMidNumLetSingleQuote))
    return true;
  const auto cat = category(c);
  return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME ||
         cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_LM || cat == UTF8PROC_CATEGORY_SK;
}

// Unicode's Cased property: Lu, Ll, Lt, anything with a case mapping, plus the few
// Other_Lowercase / Other_Uppercase characters that have none (ª, º and the squared / circled
// Latin capitals U+1F130..). Exhaustively equal to Python's for non case-ignorable characters.
bool is_cased(char32_t c) {
  const auto cat = category(c);
  if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT)
    return true;
  const auto cp = static_cast<utf8proc_int32_t>(c);
  if (utf8proc_tolower(cp) != cp || utf8proc_toupper(cp) != cp) return true;
  return c == 0xAA || c == 0xBA || (c >= 0x1F130 && c <= 0x1F149) ||
         (c >= 0x1F150 && c <= 0x1F169) || (c >= 0x1F170 && c <= 0x1F189);
}

// CPython's handle_capital_sigma: U+03A3 at position i is final when a cased letter precedes it
// and no cased letter follows it, skipping case-ignorable characters in both directions.
bool is_final_sigma(std::u32string_view text, std::size_t i) {
  std::size_t j = i;
  while (j > 0 && is_case_ignorable(text[j - 1])) --j;
  if (j == 0 || !is_cased(text[j - 1])) return false;
  std::size_t k = i + 1;
  while (k < text.size() && is_case_ignorable(text[k])) ++k;
  return k == text.size() || !is_cased(text[k]);
}

}  // namespace

std::size_t find_invalid_utf8(std::string_view bytes) {
  std::size_t i = 0;
  char32_t ignored = 0;
  while (i < bytes.size()) {
    if (static_cast<unsigned char>(bytes[i]) < 0x80) {  // ASCII fast path
      ++i;
      continue;
    }
    const std::size_t length = decode_one(bytes, i, ignored);
    if (length == 0) return i;
    i += length;
  }
  return std::string_view::npos;
}

std::u32string decode_utf8(std::string_view bytes, std::string_view what) {
  std::u32string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  while (i < bytes.size()) {
    char32_t code_point = 0;
    const std::size_t length = decode_one(bytes, i, code_point);
    if (length == 0) {
      throw DataError(std::string(what) + ": invalid UTF-8 at byte offset " + std::to_string(i));
    }
    out.push_back(code_point);
    i += length;
  }
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t c : code_points) append_utf8(out, c);
  return out;
}

bool is_bert_whitespace(char32_t c) {
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return true;
  if (c < 0x80) return false;
  return category(c) == UTF8PROC_CATEGORY_ZS;
}

bool is_bert_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  if (c < 0x80) return c < 0x20 || c == 0x7F;
  const auto cat = category(c);
  return cat == UTF8PROC_CATEGORY_CN || cat == UTF8PROC_CATEGORY_CC ||
         cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_CS || cat == UTF8PROC_CATEGORY_CO;
}

bool is_bert_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
      (c >= 123 && c <= 126))
    return true;
  if (c < 0x80) return false;
  const auto cat = category(c);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;  // Pc Pd Ps Pe Pi Pf Po
}

bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool is_nonspacing_mark(char32_t c) {
  return c >= 0x80 && category(c) == UTF8PROC_CATEGORY_MN;
}

bool is_python_space(char32_t c) {
  // CPython's _Py_ascii_whitespace plus every character with bidirectional class WS, B or S or
  // category Zs: this is the complete list for Unicode 14 and 15.
  if (c <= 0x20) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_unassigned(char32_t c) {
  return category(c) == UTF8PROC_CATEGORY_CN;
}

std::u32string nfd(std::u32string_view text) {
  return utf8proc_normalize(text, UTF8PROC_DECOMPOSE);
}

std::u32string nfc(std::u32string_view text) {
  return utf8proc_normalize(text, UTF8PROC_COMPOSE);
}

namespace {

// Lower-cases `text` character by character; U+03A3 becomes final sigma only when
// `final_sigma_rule` is set and it ends a word (str.lower), else always U+03C3 (Rust).
std::u32string lower(std::u32string_view text, bool final_sigma_rule) {
  std::u32string out;
  out.reserve(text.size() + 1);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (c < 0x80) {
      out.push_back(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    } else if (c == 0x130) {
      out.push_back(U'i');
      out.push_back(0x307);  // COMBINING DOT ABOVE
    } else if (c == 0x3A3 && final_sigma_rule) {
      out.push_back(is_final_sigma(text, i) ? 0x3C2 : 0x3C3);
    } else {
      out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    }
  }
  return out;
}

}  // namespace

std::u32string python_lower(std::u32string_view text) {
  return lower(text, true);
}

std::u32string lower_each_character(std::u32string_view text) {
  return lower(text, false);
}

}  // namespace ag::data::unicode
