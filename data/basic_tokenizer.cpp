#include "data/basic_tokenizer.h"

#include "data/unicode_utils.h"

namespace ag::data {

namespace uc = ag::data::unicode;

namespace {

bool is_ascii(std::u32string_view text) {
  for (char32_t c : text)
    if (c >= 0x80) return false;
  return true;
}

// Appends `piece` to `words` as UTF-8 unless it is empty.
void emit(std::u32string_view piece, std::vector<std::string>& words) {
  if (piece.empty()) return;
  std::string& word = words.emplace_back();
  word.reserve(piece.size());
  for (char32_t c : piece) uc::append_utf8(word, c);
}

}  // namespace

BasicTokenizer::BasicTokenizer(BasicTokenizerOptions options, std::vector<std::string> never_split)
    : options_(options), strip_accents_(options.strip_accents.value_or(options.do_lower_case)) {
  for (const std::string& word : never_split) never_split_.insert(uc::decode_utf8(word));
}

std::u32string BasicTokenizer::clean_and_space_cjk(std::u32string_view text) const {
  std::u32string out;
  out.reserve(text.size() + 8);
  for (char32_t c : text) {
    if (c == 0 || c == 0xFFFD) continue;
    // The fast tokenizer keeps unassigned code points (they become [UNK]); Python deletes them.
    if (uc::is_bert_control(c) && (options_.legacy_python || !uc::is_unassigned(c))) continue;
    if (uc::is_bert_whitespace(c)) {
      out.push_back(U' ');
    } else if (options_.tokenize_chinese_chars && uc::is_cjk_ideograph(c)) {
      out.push_back(U' ');
      out.push_back(c);
      out.push_back(U' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void BasicTokenizer::split_word(std::u32string_view word, std::vector<std::string>& words) const {
  const bool ascii = is_ascii(word);
  // Python composes the whole text (NFC) first; doing it per word gives the same words, since
  // NFC never composes across a space nor creates one. ASCII is already in NFC.
  std::u32string normalized =
      options_.legacy_python && !ascii ? uc::nfc(word) : std::u32string(word);

  if (never_split_.count(normalized) != 0) {
    emit(normalized, words);
    return;
  }
  const auto strip_accents = [&] {
    if (!strip_accents_ || ascii) return;
    std::u32string stripped;
    for (char32_t c : uc::nfd(normalized))
      if (!uc::is_nonspacing_mark(c)) stripped.push_back(c);
    normalized = std::move(stripped);
  };
  if (options_.legacy_python) {  // str.lower, then strip
    if (options_.do_lower_case) normalized = uc::python_lower(normalized);
    strip_accents();
  } else {  // the Rust normalizer: strip, then lower-case character by character
    strip_accents();
    if (options_.do_lower_case) normalized = uc::lower_each_character(normalized);
  }

  // Punctuation split: "don't!" -> "don", "'", "t", "!".
  std::size_t word_start = 0;
  for (std::size_t i = 0; i < normalized.size(); ++i) {
    if (!uc::is_bert_punctuation(normalized[i])) continue;
    emit(std::u32string_view(normalized).substr(word_start, i - word_start), words);
    emit(std::u32string_view(normalized).substr(i, 1), words);
    word_start = i + 1;
  }
  emit(std::u32string_view(normalized).substr(word_start), words);
}

void BasicTokenizer::tokenize(std::string_view text, std::vector<std::string>& words) const {
  const std::u32string cleaned = clean_and_space_cjk(uc::decode_utf8(text));
  // Python's str.split(): after cleaning only ' ', U+2028 and U+2029 can still be whitespace.
  const std::u32string_view view(cleaned);
  std::size_t start = 0;
  for (std::size_t i = 0; i <= view.size(); ++i) {
    if (i < view.size() && !uc::is_python_space(view[i])) continue;
    if (i > start) split_word(view.substr(start, i - start), words);
    start = i + 1;
  }
}

std::vector<std::string> BasicTokenizer::tokenize(std::string_view text) const {
  std::vector<std::string> words;
  tokenize(text, words);
  return words;
}

}  // namespace ag::data
