#include "data/label_map.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "data/data_error.h"
#include "data/text_file.h"
#include "data/unicode_utils.h"

namespace ag::data {

namespace {

// The value of a label written as a plain decimal integer ("-1", "0", "+3"), if it is one.
std::optional<int64_t> as_integer(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// `text` with its control characters written as C escapes (\n, \t, \x01), for one-line messages.
std::string escaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (byte < 0x20 || byte == 0x7F) {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    } else {
      out += c;
    }
  }
  return out;
}

// The NFC form of `name`, ASCII letters lower-cased: two names with the same key are one word
// spelled two ways for a reader ("POS" and "pos"; "café" composed and decomposed).
std::u32string spelling_key(const std::string& name) {
  std::u32string key = unicode::nfc(unicode::decode_utf8(name, "label"));
  for (char32_t& c : key)
    if (c >= U'A' && c <= U'Z') c = c - U'A' + U'a';
  return key;
}

}  // namespace

std::optional<std::string> LabelMap::invalid_name(std::string_view name) {
  if (name.empty()) return "a label name is empty";
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      char code[8];
      std::snprintf(code, sizeof code, "U+%04X", unsigned(byte));
      return "label \"" + escaped(name) + "\" holds a control character (" + code +
             "); labels must be printable on one line";
    }
  }
  return std::nullopt;
}

LabelMap::LabelMap(std::vector<std::string> names) : names_(std::move(names)) {
  std::set<std::string_view> seen;
  for (const std::string& name : names_) {
    if (const auto problem = invalid_name(name)) throw std::invalid_argument(*problem);
    if (!seen.insert(name).second)
      throw std::invalid_argument("label \"" + name + "\" is repeated");
  }
}

LabelMap::LabelMap(std::vector<std::string> names, std::vector<std::string> data_values)
    : LabelMap(std::move(names)) {
  if (data_values.size() != names_.size())
    throw std::invalid_argument("label names and data values differ in number");
  if (data_values == names_) return;
  for (std::size_t id = 0; id < data_values.size(); ++id) {
    if (const auto problem = invalid_name(data_values[id])) throw std::invalid_argument(*problem);
    // "-1" may stand for "negative" only: never for another id, by name or by value.
    for (std::size_t other = 0; other < names_.size(); ++other)
      if (other != id &&
          (data_values[id] == names_[other] || data_values[id] == data_values[other]))
        throw std::invalid_argument("label \"" + data_values[id] + "\" stands for two labels");
  }
  data_values_ = std::move(data_values);
}

LabelMap LabelMap::from_values(const std::vector<std::string>& values) {
  std::vector<std::string> names(values.begin(), values.end());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  const bool all_integers = std::all_of(names.begin(), names.end(), [](const std::string& name) {
    return as_integer(name).has_value();
  });
  if (all_integers) {
    std::stable_sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
      return *as_integer(a) < *as_integer(b);
    });
  }
  return LabelMap(std::move(names));
}

std::optional<int32_t> LabelMap::find(std::string_view name) const {
  for (std::size_t id = 0; id < names_.size(); ++id)
    if (names_[id] == name) return static_cast<int32_t>(id);
  for (std::size_t id = 0; id < data_values_.size(); ++id)
    if (data_values_[id] == name) return static_cast<int32_t>(id);
  return std::nullopt;
}

const std::string& LabelMap::data_value(int32_t id) const {
  const std::string& label_name = name(id);  // checks the id
  return data_values_.empty() ? label_name : data_values_[static_cast<std::size_t>(id)];
}

const std::string& LabelMap::name(int32_t id) const {
  if (id < 0 || id >= size())
    throw std::out_of_range("label id " + std::to_string(id) + " is not in " + describe());
  return names_[static_cast<std::size_t>(id)];
}

std::string LabelMap::describe() const {
  std::string out = "{";
  for (std::size_t id = 0; id < names_.size(); ++id) {
    out += (id ? ", " : "") + names_[id];
    if (!data_values_.empty()) out += " (" + data_values_[id] + ")";
  }
  return out + "}";
}

std::optional<std::string> LabelMap::mixed_spellings() const {
  std::vector<std::u32string> keys;
  for (const std::string& name : names_) keys.push_back(spelling_key(name));
  for (std::size_t i = 0; i < names_.size(); ++i)
    for (std::size_t j = i + 1; j < names_.size(); ++j) {
      const auto a = as_integer(names_[i]), b = as_integer(names_[j]);
      const bool number_and_word = a.has_value() != b.has_value();
      const bool one_number = a && b && *a == *b;  // "01" and "1"
      if (number_and_word || one_number || keys[i] == keys[j])
        return "{" + names_[i] + ", " + names_[j] + "}";
    }
  return std::nullopt;
}

std::string LabelMap::to_json() const {
  nlohmann::ordered_json id2label = nlohmann::ordered_json::object();
  nlohmann::ordered_json label2id = nlohmann::ordered_json::object();
  for (std::size_t id = 0; id < names_.size(); ++id) {
    id2label[std::to_string(id)] = names_[id];
    label2id[names_[id]] = id;
  }
  nlohmann::ordered_json root{{"id2label", id2label}, {"label2id", label2id}};
  if (!data_values_.empty()) {
    nlohmann::ordered_json data_labels = nlohmann::ordered_json::object();
    for (std::size_t id = 0; id < names_.size(); ++id)
      data_labels[std::to_string(id)] = data_values_[id];
    root["data_labels"] = data_labels;
  }
  return root.dump(2) + "\n";
}

LabelMap LabelMap::from_json(std::string_view json_text, const std::string& where) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw DataError(where + ": not valid JSON: " + e.what());
  }
  if (!root.is_object() || !root.contains("id2label") || !root["id2label"].is_object())
    throw DataError(where + ": expected {\"id2label\": {\"0\": name, ...}}");
  const nlohmann::json& id2label = root["id2label"];
  if (id2label.empty()) throw DataError(where + ": id2label is empty");
  std::vector<std::string> names(id2label.size());
  std::vector<bool> seen(id2label.size(), false);
  for (const auto& [key, value] : id2label.items()) {
    const std::optional<int64_t> id = as_integer(key);
    if (!id || *id < 0 || *id >= static_cast<int64_t>(names.size()) || !value.is_string())
      throw DataError(where + ": id2label needs ids 0.." + std::to_string(names.size() - 1) +
                      " mapped to strings, found \"" + key + "\"");
    names[static_cast<std::size_t>(*id)] = value.get<std::string>();
    seen[static_cast<std::size_t>(*id)] = true;
  }
  if (std::find(seen.begin(), seen.end(), false) != seen.end())
    throw DataError(where + ": id2label ids are not 0..K-1");
  // "data_labels": how the data files write each label, when not by its name.
  std::vector<std::string> values = names;
  if (root.contains("data_labels")) {
    const nlohmann::json& data_labels = root["data_labels"];
    if (!data_labels.is_object() || data_labels.size() != names.size())
      throw DataError(where + ": data_labels needs one value for each id of id2label");
    for (const auto& [key, value] : data_labels.items()) {
      const std::optional<int64_t> id = as_integer(key);
      if (!id || *id < 0 || *id >= static_cast<int64_t>(names.size()) || !value.is_string())
        throw DataError(where + ": data_labels needs ids 0.." + std::to_string(names.size() - 1) +
                        " mapped to strings, found \"" + key + "\"");
      values[static_cast<std::size_t>(*id)] = value.get<std::string>();
    }
  }
  try {
    return LabelMap(std::move(names), std::move(values));
  } catch (const std::invalid_argument& e) {
    throw DataError(where + ": " + e.what());
  }
}

void LabelMap::save(const std::string& path) const {
  write_file_atomically(path, to_json());
}

LabelMap LabelMap::load(const std::string& path) {
  return from_json(read_utf8_file(path), path);
}

LabelMap with_known_names(const LabelMap& labels, const std::string& path) {
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const bool sst2 =
      lower.find("sst2") != std::string::npos || lower.find("sst-2") != std::string::npos;
  if (sst2 && !labels.has_data_values() && labels.names() == std::vector<std::string>{"0", "1"})
    return LabelMap({"negative", "positive"}, {"0", "1"});
  return labels;
}

}  // namespace ag::data
