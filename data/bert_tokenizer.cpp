#include "data/bert_tokenizer.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "data/data_error.h"
#include "data/text_file.h"
#include "data/unicode_utils.h"

namespace ag::data {

namespace {

using nlohmann::json;

json read_json_file(const std::string& path, const FileKind& kind) {
  const std::string text = read_utf8_input_file(path, kind);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw DataError(path + ": not valid JSON: " + e.what());
  }
}

// A special token in tokenizer_config.json is either "[SEP]" or {"content": "[SEP]", ...}.
void read_token(const json& config, const char* key, std::string& token, const std::string& path) {
  if (!config.contains(key) || config[key].is_null()) return;
  const json& value = config[key];
  if (value.is_string()) {
    token = value.get<std::string>();
  } else if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    token = value["content"].get<std::string>();
  } else {
    throw DataError(path + ": \"" + key + "\" is neither a string nor {\"content\": string}");
  }
}

void read_bool(const json& config, const char* key, bool& flag, const std::string& path) {
  if (!config.contains(key) || config[key].is_null()) return;
  if (!config[key].is_boolean()) throw DataError(path + ": \"" + key + "\" is not true/false");
  flag = config[key].get<bool>();
}

void read_optional_bool(const json& config, const char* key, std::optional<bool>& flag,
                        const std::string& path) {
  if (!config.contains(key)) return;
  if (config[key].is_null()) {
    flag.reset();
    return;
  }
  bool value = false;
  read_bool(config, key, value, path);
  flag = value;
}

// Options from tokenizer_config.json (the Python tokenizer's own settings file).
void read_tokenizer_config(const std::string& path, BertTokenizerOptions& options) {
  const json config = read_json_file(path, kSettingsFile);
  if (!config.is_object()) throw DataError(path + ": expected a JSON object");
  read_bool(config, "do_lower_case", options.do_lower_case, path);
  read_optional_bool(config, "strip_accents", options.strip_accents, path);
  read_bool(config, "tokenize_chinese_chars", options.tokenize_chinese_chars, path);
  if (config.contains("model_max_length") && config["model_max_length"].is_number()) {
    // Models without a limit store a huge float (1e30): keep it as "no limit".
    const double limit = config["model_max_length"].get<double>();
    // (Checked before the cast: a double outside int64's range does not convert.)
    if (!(limit >= 1)) throw DataError(path + ": \"model_max_length\" must be positive");
    options.model_max_length =
        limit >= 1e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(limit);
  }
  read_token(config, "unk_token", options.unk_token, path);
  read_token(config, "sep_token", options.sep_token, path);
  read_token(config, "pad_token", options.pad_token, path);
  read_token(config, "cls_token", options.cls_token, path);
  read_token(config, "mask_token", options.mask_token, path);
}

// Options from tokenizer.json's BertNormalizer and WordPiece model, for folders that have no
// tokenizer_config.json.
void read_tokenizer_json_options(const std::string& path, BertTokenizerOptions& options) {
  const json root = read_json_file(path, kTokenizerFile);
  if (root.contains("normalizer") && root["normalizer"].is_object()) {
    const json& normalizer = root["normalizer"];
    read_bool(normalizer, "lowercase", options.do_lower_case, path);
    read_optional_bool(normalizer, "strip_accents", options.strip_accents, path);
    read_bool(normalizer, "handle_chinese_chars", options.tokenize_chinese_chars, path);
  }
  if (root.contains("model") && root["model"].is_object()) {
    const json& model = root["model"];
    read_token(model, "unk_token", options.unk_token, path);
    if (model.contains("max_input_chars_per_word") &&
        model["max_input_chars_per_word"].is_number_integer())
      options.max_input_chars_per_word = model["max_input_chars_per_word"].get<int64_t>();
  }
}

// "Longest first" truncation of a pair to `budget` ids, as the tokenizers library does it
// (truncate_encodings): the longer text keeps what the shorter one leaves, but never less than
// the shorter one's length; when that still does not fit, each gets half of the budget, the
// spare id going to the longer text (the second when both are as long). Returns the lengths to
// keep, first and second.
std::pair<int64_t, int64_t> rust_longest_first(int64_t len_first, int64_t len_second,
                                               int64_t budget) {
  const bool swapped = len_first > len_second;
  int64_t shorter = swapped ? len_second : len_first;
  int64_t longer = shorter > budget ? shorter : std::max(shorter, budget - shorter);
  if (shorter + longer > budget) {
    shorter = budget / 2;
    longer = shorter + budget % 2;
  }
  shorter = std::min(shorter, swapped ? len_second : len_first);
  longer = std::min(longer, swapped ? len_first : len_second);
  return swapped ? std::pair{longer, shorter} : std::pair{shorter, longer};
}

// The same in transformers' Python closed form: remove the difference in length from the longer
// text, then split what is left to remove evenly, the first text losing the smaller half (so
// the spare id stays with the first text).
std::pair<int64_t, int64_t> python_longest_first(int64_t len_first, int64_t len_second,
                                                 int64_t budget) {
  const int64_t to_remove = len_first + len_second - budget;
  const int64_t from_longer = std::min(std::abs(len_first - len_second), to_remove);
  const int64_t rest = to_remove - from_longer;
  if (len_first > len_second)
    return {len_first - from_longer - rest / 2, len_second - (rest - rest / 2)};
  return {len_first - rest / 2, len_second - from_longer - (rest - rest / 2)};
}

}  // namespace

BertTokenizer::BertTokenizer(Vocabulary vocabulary, BertTokenizerOptions options)
    : vocabulary_(std::move(vocabulary)),
      options_(std::move(options)),
      basic_({options_.do_lower_case, options_.strip_accents, options_.tokenize_chinese_chars,
              options_.legacy_python},
             {options_.unk_token, options_.sep_token, options_.pad_token, options_.cls_token,
              options_.mask_token}),
      wordpiece_(vocabulary_, options_.unk_token, options_.max_input_chars_per_word),
      cls_id_(vocabulary_.id_of(options_.cls_token)),
      sep_id_(vocabulary_.id_of(options_.sep_token)),
      pad_id_(vocabulary_.id_of(options_.pad_token)),
      mask_id_(vocabulary_.id_of(options_.mask_token)) {
  if (cls_id_ < 0 || sep_id_ < 0)
    throw DataError("the vocabulary lacks \"" + options_.cls_token + "\" or \"" +
                    options_.sep_token + "\"");
  // Every batch is padded with this token: without it, padding would be id -1.
  if (pad_id_ < 0)
    throw DataError("the vocabulary has no padding token \"" + options_.pad_token +
                    "\" (the tokenizer's pad_token; batches are padded with it)");
  for (const std::string* token : {&options_.unk_token, &options_.sep_token, &options_.pad_token,
                                   &options_.cls_token, &options_.mask_token}) {
    const int32_t id = vocabulary_.id_of(*token);
    if (id >= 0 && !token->empty()) special_tokens_.push_back({*token, id});
  }
}

BertTokenizer BertTokenizer::from_pretrained(const std::string& folder) {
  namespace fs = std::filesystem;
  const std::string vocab_txt = (fs::path(folder) / "vocab.txt").string();
  const std::string tokenizer_json = (fs::path(folder) / "tokenizer.json").string();
  const std::string tokenizer_config = (fs::path(folder) / "tokenizer_config.json").string();

  BertTokenizerOptions options;
  Vocabulary vocabulary;
  if (fs::exists(vocab_txt)) {
    vocabulary = Vocabulary::from_vocab_txt(vocab_txt);
  } else if (fs::exists(tokenizer_json)) {
    vocabulary = Vocabulary::from_tokenizer_json(tokenizer_json);
  } else {
    throw DataError(folder + ": no vocab.txt or tokenizer.json in this folder");
  }
  if (fs::exists(tokenizer_config)) {
    read_tokenizer_config(tokenizer_config, options);
  } else if (fs::exists(tokenizer_json)) {
    read_tokenizer_json_options(tokenizer_json, options);
  }
  // A special token missing from the vocabulary: name the file it is missing from.
  const std::string vocabulary_file = fs::exists(vocab_txt) ? vocab_txt : tokenizer_json;
  try {
    return BertTokenizer(std::move(vocabulary), std::move(options));
  } catch (const DataError& e) {
    throw DataError(vocabulary_file + ": " + e.what());
  }
}

void BertTokenizer::tokenize_to_ids(std::string_view text, std::vector<int32_t>& ids) const {
  const std::size_t bad = unicode::find_invalid_utf8(text);
  if (bad != std::string_view::npos)
    throw DataError("text: invalid UTF-8 at byte offset " + std::to_string(bad));

  std::vector<std::string> words;
  // Split the text at special tokens written in it (leftmost, then longest match) and
  // tokenize the pieces between them separately: "a[SEP]b" -> "a", [SEP], "b".
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t match_at = std::string_view::npos;
    const SpecialToken* match = nullptr;
    for (const SpecialToken& special : special_tokens_) {
      const std::size_t at = text.find(special.text, start);
      if (at == std::string_view::npos) continue;
      if (at < match_at || (at == match_at && special.text.size() > match->text.size())) {
        match_at = at;
        match = &special;
      }
    }
    const std::size_t piece_end = match ? match_at : text.size();
    words.clear();
    basic_.tokenize(text.substr(start, piece_end - start), words);
    for (const std::string& word : words) wordpiece_.tokenize_word(word, ids);
    if (!match) break;
    ids.push_back(match->id);
    start = match_at + match->text.size();
  }
}

std::vector<int32_t> BertTokenizer::tokenize_to_ids(std::string_view text) const {
  std::vector<int32_t> ids;
  tokenize_to_ids(text, ids);
  return ids;
}

std::vector<std::string> BertTokenizer::tokenize(std::string_view text) const {
  return convert_ids_to_tokens(tokenize_to_ids(text));
}

Encoding BertTokenizer::encode(std::string_view text, int64_t max_length) const {
  std::vector<int32_t> ids = tokenize_to_ids(text);
  if (max_length > 0) {
    if (max_length < 2)
      throw std::invalid_argument("max_length " + std::to_string(max_length) +
                                  " leaves no room for [CLS] and [SEP]");
    const std::size_t keep = static_cast<std::size_t>(max_length - 2);
    if (ids.size() > keep) ids.resize(keep);
  }
  Encoding encoding;
  encoding.input_ids.reserve(ids.size() + 2);
  encoding.input_ids.push_back(cls_id_);
  encoding.input_ids.insert(encoding.input_ids.end(), ids.begin(), ids.end());
  encoding.input_ids.push_back(sep_id_);
  encoding.token_type_ids.assign(encoding.input_ids.size(), 0);
  encoding.attention_mask.assign(encoding.input_ids.size(), 1);
  return encoding;
}

Encoding BertTokenizer::encode_pair(std::string_view text, std::string_view text_pair,
                                    int64_t max_length) const {
  // transformers passes an empty text_pair as no pair at all: "[CLS] a [SEP]".
  if (text_pair.empty() && !options_.legacy_python) return encode(text, max_length);
  std::vector<int32_t> first = tokenize_to_ids(text);
  std::vector<int32_t> second = tokenize_to_ids(text_pair);
  const int64_t total = static_cast<int64_t>(first.size() + second.size()) + 3;
  if (max_length > 0 && max_length < 3)
    throw std::invalid_argument("max_length " + std::to_string(max_length) +
                                " leaves no room for [CLS] a [SEP] b [SEP]");
  if (max_length > 0 && total > max_length) {
    const auto [keep_first, keep_second] =
        options_.legacy_python
            ? python_longest_first(int64_t(first.size()), int64_t(second.size()), max_length - 3)
            : rust_longest_first(int64_t(first.size()), int64_t(second.size()), max_length - 3);
    first.resize(static_cast<std::size_t>(keep_first));
    second.resize(static_cast<std::size_t>(keep_second));
  }
  Encoding encoding;
  encoding.input_ids.push_back(cls_id_);
  encoding.input_ids.insert(encoding.input_ids.end(), first.begin(), first.end());
  encoding.input_ids.push_back(sep_id_);
  encoding.token_type_ids.assign(encoding.input_ids.size(), 0);
  encoding.input_ids.insert(encoding.input_ids.end(), second.begin(), second.end());
  encoding.input_ids.push_back(sep_id_);
  encoding.token_type_ids.resize(encoding.input_ids.size(), 1);
  encoding.attention_mask.assign(encoding.input_ids.size(), 1);
  return encoding;
}

std::vector<Encoding> BertTokenizer::encode_batch(const std::vector<std::string>& texts,
                                                  int64_t max_length) const {
  std::vector<Encoding> encodings;
  encodings.reserve(texts.size());
  for (const std::string& text : texts) encodings.push_back(encode(text, max_length));
  return encodings;
}

bool BertTokenizer::is_special_id(int32_t id) const {
  for (const SpecialToken& special : special_tokens_)
    if (special.id == id) return true;
  return false;
}

std::vector<std::string> BertTokenizer::convert_ids_to_tokens(std::span<const int32_t> ids,
                                                              bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (skip_special_tokens && is_special_id(id)) continue;
    tokens.push_back(id >= 0 && id < vocabulary_.size() ? vocabulary_.token_of(id)
                                                        : options_.unk_token);
  }
  return tokens;
}

namespace {

// Python's str.replace(old, new) for every occurrence, left to right.
void replace_all(std::string& text, std::string_view old_text, std::string_view new_text) {
  std::string out;
  std::size_t start = 0;
  for (std::size_t at; (at = text.find(old_text, start)) != std::string::npos;) {
    out.append(text, start, at - start).append(new_text);
    start = at + old_text.size();
  }
  out.append(text, start);
  text = std::move(out);
}

// Python's str.strip(): drops leading and trailing str.isspace() characters.
std::string python_strip(const std::string& text) {
  const std::u32string code_points = unicode::decode_utf8(text);
  std::size_t begin = 0, end = code_points.size();
  while (begin < end && unicode::is_python_space(code_points[begin])) ++begin;
  while (end > begin && unicode::is_python_space(code_points[end - 1])) --end;
  return unicode::encode_utf8(std::u32string_view(code_points).substr(begin, end - begin));
}

}  // namespace

std::string BertTokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens,
                                  bool clean_up_tokenization_spaces) const {
  // " ".join(tokens).replace(" ##", "").strip(), then clean_up_tokenization().
  const std::vector<std::string> tokens = convert_ids_to_tokens(ids, skip_special_tokens);
  std::string text;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) text += ' ';
    text += tokens[i];
  }
  replace_all(text, " ##", "");
  text = python_strip(text);
  if (clean_up_tokenization_spaces) {
    for (const auto& [from, to] : {std::pair{" .", "."},
                                   {" ?", "?"},
                                   {" !", "!"},
                                   {" ,", ","},
                                   {" ' ", "'"},
                                   {" n't", "n't"},
                                   {" 'm", "'m"},
                                   {" 's", "'s"},
                                   {" 've", "'ve"},
                                   {" 're", "'re"}})
      replace_all(text, from, to);
  }
  return text;
}

}  // namespace ag::data
