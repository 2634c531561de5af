#include "data/vocabulary.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "data/data_error.h"
#include "data/text_file.h"

namespace ag::data {

Vocabulary::Vocabulary(std::vector<std::string> tokens) : id_to_token_(std::move(tokens)) {
  token_to_id_.reserve(id_to_token_.size());
  for (std::size_t id = 0; id < id_to_token_.size(); ++id)
    token_to_id_[id_to_token_[id]] = static_cast<int32_t>(id);  // a repeat keeps the last id
}

Vocabulary Vocabulary::from_vocab_txt(const std::string& path) {
  // A leading byte-order mark is dropped (Python would keep it inside the first token).
  const std::string text = read_utf8_input_file(path, kTokenizerFile);
  std::vector<std::string> tokens;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find_first_of("\r\n", start);
    if (end == std::string::npos) end = text.size();
    tokens.emplace_back(text, start, end - start);
    if (end == text.size()) break;
    start = end + 1;
    if (text[end] == '\r' && start < text.size() && text[start] == '\n') ++start;  // "\r\n"
  }
  if (tokens.empty()) throw DataError(path + ": the vocabulary is empty");
  return Vocabulary(std::move(tokens));
}

Vocabulary Vocabulary::from_tokenizer_json(const std::string& path) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(read_utf8_input_file(path, kTokenizerFile));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path + ": not valid JSON: " + e.what());
  }
  const auto fail = [&](const std::string& what) { throw DataError(path + ": " + what); };
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object())
    fail("no \"model\" object");
  const nlohmann::json& model = root["model"];
  // A "type" that is not a string is rejected here, not by nlohmann's type_error in value().
  if (model.contains("type") && !(model["type"].is_string() && model["type"] == "WordPiece"))
    fail("model.type is " + model["type"].dump() + ", expected \"WordPiece\"");
  if (!model.contains("vocab") || !model["vocab"].is_object())
    fail("no \"model.vocab\" object {token: id}");

  // Collect (token, id) pairs from model.vocab and added_tokens, then lay them out by id.
  std::vector<std::pair<std::string, int64_t>> entries;
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0)
      fail("model.vocab[\"" + token + "\"] is not a non-negative integer id");
    entries.emplace_back(token, id.get<int64_t>());
  }
  if (root.contains("added_tokens") && root["added_tokens"].is_array()) {
    for (const auto& added : root["added_tokens"]) {
      if (!added.is_object() || !added.contains("id") || !added.contains("content") ||
          !added["id"].is_number_integer() || !added["content"].is_string() ||
          added["id"].get<int64_t>() < 0)
        fail("an entry of added_tokens lacks an integer \"id\" or a string \"content\"");
      entries.emplace_back(added["content"].get<std::string>(), added["id"].get<int64_t>());
    }
  }
  // The ids must be exactly 0..N-1. Find the first missing one from the ids themselves, so
  // that a tiny file with a huge id is rejected before that many tokens are allocated.
  std::vector<int64_t> ids;
  ids.reserve(entries.size());
  for (const auto& entry : entries) ids.push_back(entry.second);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.empty()) fail("the vocabulary is empty");
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] != static_cast<int64_t>(i))
      fail("vocabulary ids are not contiguous: no token has id " + std::to_string(i));
  const auto size = static_cast<int64_t>(ids.size());
  if (size > (int64_t{1} << 31) - 1) fail("vocabulary ids are too large");

  std::vector<std::string> tokens(static_cast<std::size_t>(size));
  for (const auto& [token, id] : entries) tokens[static_cast<std::size_t>(id)] = token;
  return Vocabulary(std::move(tokens));
}

int32_t Vocabulary::id_of(std::string_view token) const {
  const auto it = token_to_id_.find(token);
  return it == token_to_id_.end() ? -1 : it->second;
}

const std::string& Vocabulary::token_of(int32_t id) const {
  if (id < 0 || id >= size())
    throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary (size " +
                            std::to_string(size()) + ")");
  return id_to_token_[static_cast<std::size_t>(id)];
}

}  // namespace ag::data
