// config.json: every key transformers writes is implemented, refused or ignored; indices that
// point into a table (pad_token_id, ...) stay inside it; numbers that break the math
// (layer_norm_eps <= 0, ...) and bytes after the JSON are refused, naming config.json and the key.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "fixture.h"
#include "models/config.h"
#include "models/config_keys.h"
#include "models/pretrained.h"
#include "nn/layers.h"

using ag::models::ConfigKeyUse;
using nlohmann::json;

// The message of reading `config` as a config.json ("" when it loads).
static std::string config_error(const json& config) {
  return fixture::error_message(
      [&] { ag::models::config_from_json_text(config.dump(), "config.json"); });
}

static std::string config_error(const std::string& text) {
  return fixture::error_message([&] { ag::models::config_from_json_text(text, "config.json"); });
}

// What the reader made of `config`, written back out (every implemented setting is in it).
static std::string read_back(const json& config) {
  return ag::models::config_to_json_text(
      ag::models::config_from_json_text(config.dump(), "config.json"));
}

static const ag::models::ConfigKey* classified(const std::string& model_type,
                                               const std::string& name) {
  for (auto& k : ag::models::config_keys(model_type))
    if (k.name == name) return &k;
  return nullptr;
}

TEST_CASE("every key of BERT's and DistilBERT's config.json is implemented, refused or ignored") {
  // Listed by tools/reference/list_model_config_keys.py from transformers' configs.
  const json list = json::parse(std::ifstream(fixture::path("models/config_keys.json")));
  CHECK(list["transformers"] == "5.25.0");
  for (const std::string model_type : {"bert", "distilbert"}) {
    const json& keys = list["models"][model_type];
    REQUIRE(keys.size() >= 70);
    const json minimal = {{"model_type", model_type}};
    const std::string plain = read_back(minimal);
    json every_default = json::object();
    for (const json& key : keys) {
      const std::string name = key["name"];
      INFO(model_type << " config key " << name << " (" << key["why"].get<std::string>() << ")");
      const ag::models::ConfigKey* k = classified(model_type, name);
      REQUIRE_MESSAGE(k != nullptr, "not classified in models/config_keys.cpp");
      if (key["changes_math"]) {
        CHECK(k->use != ConfigKeyUse::kIgnored);
        json config = minimal;
        config[name] = key["example"];
        if (k->use == ConfigKeyUse::kRefusedUnlessDefault) {
          // Refused, naming the file, the key and the value.
          CHECK(config_error(config).find("config.json: key \"" + name +
                                          "\": " + key["example"].dump()) == 0);
        } else {
          // Read: the model it describes changes.
          REQUIRE(config_error(config) == "");
          CHECK(read_back(config) != plain);
        }
      } else {
        // Ignored: any value is accepted and changes nothing (token ids are only checked to be
        // inside the vocabulary).
        CHECK(k->use == ConfigKeyUse::kIgnored);
        json config = minimal;
        const bool token_id = name.size() > 9 && name.substr(name.size() - 9) == "_token_id";
        config[name] = token_id ? json(5) : json("anything");
        CHECK(config_error(config) == "");
        if (config_error(config) == "") CHECK(read_back(config) == plain);
      }
      every_default[name] = key["default"];
    }
    // A config.json with every key at transformers' default (what it writes for a plain model)
    // reads as the default model.
    every_default["model_type"] = model_type;
    CHECK(config_error(every_default) == "");
    CHECK(read_back(every_default) == plain);
    // Nothing classified here that the list does not have.
    for (auto& k : ag::models::config_keys(model_type)) {
      bool listed = false;
      for (const json& key : keys) listed = listed || key["name"] == k.name;
      CHECK_MESSAGE(listed, model_type << ": " << k.name);
    }
  }
}

TEST_CASE("config.json: the keys that change the math are refused unless at their default") {
  CHECK(config_error(json{{"model_type", "bert"}, {"position_embedding_type", "relative_key"}}) ==
        "config.json: key \"position_embedding_type\": \"relative_key\" changes the model's math "
        "and is not implemented by adaptgrad (accepted: \"absolute\")");
  CHECK(config_error(json{{"model_type", "bert"}, {"is_decoder", true}})
            .find("config.json: key \"is_decoder\": true changes the model's math") == 0);
  // A value of another type is not the default either.
  CHECK(config_error(json{{"model_type", "bert"}, {"is_decoder", "no"}})
            .find("key \"is_decoder\": \"no\"") != std::string::npos);
  // Their defaults, and null, are fine.
  CHECK(config_error(json{{"model_type", "bert"},
                          {"position_embedding_type", "absolute"},
                          {"is_decoder", false},
                          {"add_cross_attention", nullptr},
                          {"problem_type", "single_label_classification"},
                          {"pruned_heads", json::object()}}) == "");
}

TEST_CASE("config.json: invalid numbers are refused, naming the key") {
  const auto bert = [](const char* key, const json& value) {
    return config_error(json{{"model_type", "bert"}, {key, value}});
  };
  // LayerNorm divides by sqrt(variance + eps): eps <= 0 gives NaN ("rms -nan").
  CHECK(
      bert("layer_norm_eps", -1.0).find("config.json: key \"layer_norm_eps\": must be positive") ==
      0);
  CHECK(bert("layer_norm_eps", 0).find("key \"layer_norm_eps\": must be positive") !=
        std::string::npos);
  CHECK(bert("layer_norm_eps", 1e-50).find("key \"layer_norm_eps\": must be positive") !=
        std::string::npos);  // 0 as a float
  CHECK(bert("layer_norm_eps", 1e300).find("key \"layer_norm_eps\": is too large for a 32-bit") !=
        std::string::npos);
  CHECK(bert("layer_norm_eps", 1e-5) == "");
  CHECK(bert("initializer_range", -0.02).find("key \"initializer_range\": must be a standard") !=
        std::string::npos);
  CHECK(bert("hidden_dropout_prob", 1.0).find("key \"hidden_dropout_prob\": must be in [0, 1)") !=
        std::string::npos);
  CHECK(bert("classifier_dropout", -0.1).find("key \"classifier_dropout\": must be in [0, 1)") !=
        std::string::npos);
  CHECK(config_error(json{{"model_type", "distilbert"}, {"seq_classif_dropout", 1}})
            .find("key \"seq_classif_dropout\": must be in [0, 1)") != std::string::npos);
  CHECK(bert("hidden_act", "swish").find("config.json: key \"hidden_act\": \"swish\"") == 0);
  CHECK(bert("type_vocab_size", 0).find("key \"type_vocab_size\": must be positive") !=
        std::string::npos);
}

TEST_CASE("config.json: pad_token_id and the other token ids must be rows of the vocabulary") {
  // Before this check, pad 128 with vocab 128 zeroed a row past the end of the table.
  const json pad_128 = {{"model_type", "distilbert"}, {"vocab_size", 128}, {"pad_token_id", 128}};
  CHECK(config_error(pad_128) ==
        "config.json: key \"pad_token_id\": 128 is outside the word embedding table: expected a "
        "token id in [0, 128) (vocab_size 128)");
  CHECK(config_error(json{{"model_type", "bert"}, {"pad_token_id", -1}})
            .find("key \"pad_token_id\": -1 is outside") != std::string::npos);
  CHECK(config_error(json{{"model_type", "bert"}, {"vocab_size", 128}, {"pad_token_id", 127}}) ==
        "");
  // null: no padding row, as transformers' nn.Embedding(padding_idx=None).
  CHECK(ag::models::config_from_json_text(R"({"model_type": "bert", "pad_token_id": null})", "c")
            .pad_token_id == -1);
  CHECK(ag::models::config_from_json_text(R"({"model_type": "bert"})", "c").pad_token_id == 0);
  CHECK(config_error(json{{"model_type", "bert"}, {"vocab_size", 10}, {"eos_token_id", {2, 10}}})
            .find("key \"eos_token_id\": 10 is outside") != std::string::npos);
  CHECK(config_error(json{{"model_type", "bert"}, {"vocab_size", 10}, {"bos_token_id", 11}})
            .find("key \"bos_token_id\": 11 is outside") != std::string::npos);
  CHECK(config_error(json{{"model_type", "bert"}, {"eos_token_id", "x"}})
            .find("key \"eos_token_id\": must be a number") != std::string::npos);

  // From a folder: refused before anything is allocated.
  const fixture::TempDir dir;
  dir.write("config.json", pad_128.dump());
  CHECK(fixture::error_message([&] {
          ag::models::from_pretrained(dir.file("config.json"));
        }).find(dir.file("config.json") + ": key \"pad_token_id\": 128 is outside") == 0);
  // The layer checks it too, whoever builds it.
  CHECK(fixture::error_message([] { ag::nn::Embedding(128, 4, 0.02f, 128); }) ==
        "Embedding: padding_idx 128 is outside the 128 rows of the table (expected -1 for none, "
        "or 0..127)");
  CHECK(fixture::error_message([] { ag::nn::Embedding(128, 4, 0.02f, -2); }) != "");
  CHECK(fixture::error_message([] { ag::nn::Embedding(128, 4, 0.02f, 127); }) == "");
}

TEST_CASE("config.json: DistilBERT's BERT-style aliases are read, and must agree") {
  CHECK(ag::models::config_from_json_text(R"({"model_type": "distilbert", "hidden_size": 64,
                                              "num_attention_heads": 4, "num_hidden_layers": 2})",
                                          "c")
            .hidden == 64);
  CHECK(config_error(json{{"model_type", "distilbert"}, {"dim", 768}, {"hidden_size", 64}}) ==
        "config.json: key \"hidden_size\": 64 differs from \"dim\" 768 (transformers reads both as "
        "one setting)");
  CHECK(config_error(json{
            {"model_type", "distilbert"}, {"dim", 64}, {"hidden_size", 64}, {"n_heads", 4}}) == "");
}

TEST_CASE("config.json: a NUL byte or anything after the JSON object is refused") {
  const std::string good = R"({"model_type": "bert"})";
  CHECK(config_error(good + "\n") == "");
  // nlohmann's parser stops at a NUL as if the text ended there.
  CHECK(config_error(good + std::string("\0garbage", 8)) ==
        "config.json: byte 22: is a NUL byte; expected JSON text (is the file binary or "
        "corrupted?)");
  CHECK(config_error(good + std::string(1, '\0')).find("NUL byte") != std::string::npos);
  CHECK(config_error(std::string(R"({"model_type": "be)") + '\0' + "rt\"}").find("byte 18") !=
        std::string::npos);
  CHECK(config_error(good + " {}").find("config.json: byte") == 0);
  CHECK(config_error(good + " garbage").find("is not valid JSON") != std::string::npos);
}

TEST_CASE("config.json: id2label ids are plain decimal numbers 0..n-1") {
  CHECK(config_error(json{{"model_type", "bert"}, {"id2label", {{"0", "a"}, {"1abc", "b"}}}}) ==
        "config.json: key \"id2label\": has a non-integer id \"1abc\"");
  CHECK(config_error(json{{"model_type", "bert"}, {"id2label", {{"0", "a"}, {"+1", "b"}}}})
            .find("non-integer id \"+1\"") != std::string::npos);
  CHECK(config_error(json{{"model_type", "bert"}, {"id2label", {{"0", "a"}, {"1", "b"}}}}) == "");
}
