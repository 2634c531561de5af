// How adaptgrad treats every key a BERT or DistilBERT config.json may hold.
//
// A key is either implemented (read into EncoderConfig), refused unless it holds the value that
// leaves the model as adaptgrad computes it (is_decoder false, position_embedding_type
// "absolute", ...), or ignored because it never changes what the classifier computes (names,
// versions, generation settings, what the forward pass returns). A key in none of these lists is
// ignored too: transformers keeps unknown keys as attributes that its BERT and DistilBERT code
// never reads. tests/fixtures/models/config_keys.json lists the keys (transformers 5's, those
// 4.x wrote, and aliases); a test checks that each one is classified here and that the refused
// ones are refused.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ag::models {

enum class ConfigKeyUse { kImplemented, kRefusedUnlessDefault, kIgnored };

struct ConfigKey {
  std::string name;
  ConfigKeyUse use;
  std::vector<nlohmann::json> accepted;  // kRefusedUnlessDefault: the values allowed (and null)
};

// The classified keys of `model_type`'s config.json ("bert" or "distilbert").
const std::vector<ConfigKey>& config_keys(const std::string& model_type);

// Throws FormatError naming `path`, the key and its value for a refused key that holds a value
// other than null or an accepted one.
void check_refused_keys(const nlohmann::json& config, const std::string& model_type,
                        const std::string& path);

}  // namespace ag::models
