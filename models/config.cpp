#include "models/config.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "core/errors.h"
#include "core/io/json_util.h"
#include "core/io/read_file.h"
#include "models/config_keys.h"

namespace ag::models {
namespace {

using nlohmann::json;

// Largest accepted size of any dimension (vocabulary, width, layers, labels, ...): far above
// any real model, small enough that a hostile config cannot make us allocate terabytes.
constexpr int64_t kMaxDimension = int64_t(1) << 24;

// Reads key `key` of `j` as T, or keeps `fallback` when the key is absent (HF's defaults).
// A present key of the wrong type or out of range is an error naming the file and the key.
template <class T>
T get(const json& j, const std::string& key, T fallback, const std::string& file) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if constexpr (std::is_same_v<T, int64_t>) {
    return json_integer(*it, file, key, -kMaxDimension, kMaxDimension);
  } else if constexpr (std::is_same_v<T, float>) {
    const float value = float(json_number(*it, file, key));
    if (!std::isfinite(value))
      throw FormatError(file, "key \"" + key + "\"", "is too large for a 32-bit float");
    return value;
  } else {
    try {
      return it->get<T>();
    } catch (const json::exception&) {
      throw FormatError(file, "key \"" + key + "\"",
                        "has the wrong type (" + std::string(it->type_name()) + ")");
    }
  }
}

void check_positive(int64_t v, const std::string& key, const std::string& file) {
  if (v <= 0)
    throw FormatError(file, "key \"" + key + "\"", "must be positive, got " + std::to_string(v));
}

void check_probability(float p, const std::string& key, const std::string& file) {
  if (!(p >= 0.0f && p < 1.0f))
    throw FormatError(file, "key \"" + key + "\"", "must be in [0, 1), got " + std::to_string(p));
}

// A token id the config names (pad, bos, eos, sep): a row of the word embedding table.
void check_token_id(int64_t id, const std::string& key, int64_t vocab_size,
                    const std::string& file) {
  if (id < 0 || id >= vocab_size)
    throw FormatError(file, "key \"" + key + "\"",
                      std::to_string(id) + " is outside the word embedding table: expected a " +
                          "token id in [0, " + std::to_string(vocab_size) + ") (vocab_size " +
                          std::to_string(vocab_size) + ")");
}

// bos/eos/sep_token_id are never read by the encoder, but an id outside the vocabulary means
// the file is broken: null, an id, or (eos_token_id) a list of ids.
void check_unused_token_ids(const json& j, int64_t vocab_size, const std::string& file) {
  for (const char* key : {"bos_token_id", "eos_token_id", "sep_token_id"}) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    const json list = it->is_array() ? *it : json::array({*it});
    for (const json& id : list)
      check_token_id(json_integer(id, file, key, -kMaxDimension, kMaxDimension), key, vocab_size,
                     file);
  }
}

// DistilBERT's config also answers to BERT's names for three keys (transformers' attribute_map):
// an alias is read when the key itself is absent, and must agree with it when both are there.
int64_t get_with_alias(const json& j, const std::string& key, const std::string& alias,
                       int64_t fallback, const std::string& file) {
  const int64_t from_alias = get<int64_t>(j, alias, fallback, file);
  const int64_t value = get<int64_t>(j, key, from_alias, file);
  if (value != from_alias && j.contains(alias) && !j[alias].is_null())
    throw FormatError(file, "key \"" + alias + "\"",
                      std::to_string(from_alias) + " differs from \"" + key + "\" " +
                          std::to_string(value) + " (transformers reads both as one setting)");
  return value;
}

// num_labels from "num_labels", else from the size of "id2label", else 2 (HF's default).
void read_labels(const json& j, EncoderConfig& c, const std::string& file) {
  auto it = j.find("id2label");
  if (it != j.end() && it->is_object()) {
    c.id2label.assign(it->size(), "");
    for (auto& [k, v] : it->items()) {
      // Plain decimal digits only ("1", not "+1", " 1" or "1abc", which std::stoul accepts).
      const bool digits =
          !k.empty() && k.size() <= 9 &&
          std::all_of(k.begin(), k.end(), [](char d) { return d >= '0' && d <= '9'; });
      if (!digits)
        throw FormatError(file, "key \"id2label\"",
                          "has a non-integer id " + json(k).dump(-1, ' ', true));
      const size_t idx = std::stoul(k);
      if (idx >= c.id2label.size() || !v.is_string())
        throw FormatError(file, "key \"id2label\"", "ids must be 0..n-1 with string names");
      c.id2label[idx] = v.get<std::string>();
    }
  }
  c.num_labels =
      get<int64_t>(j, "num_labels", c.id2label.empty() ? 2 : int64_t(c.id2label.size()), file);
  check_positive(c.num_labels, "num_labels", file);
  if (c.id2label.size() != size_t(c.num_labels)) {
    c.id2label.clear();
    for (int64_t i = 0; i < c.num_labels; ++i) c.id2label.push_back("LABEL_" + std::to_string(i));
  }
  // The accepted values are checked with the refused keys (config_keys.cpp).
  if (const auto it = j.find("problem_type"); it != j.end() && it->is_string())
    c.problem_type = it->get<std::string>();
  if (c.problem_type == "regression" && c.num_labels != 1)
    throw FormatError(file, "key \"problem_type\"",
                      "\"regression\" needs num_labels 1, got " + std::to_string(c.num_labels));
}

}  // namespace

// The same settings go by different keys in each model type's config.json (transformers'
// DistilBertConfig and BertConfig).
struct ConfigKeys {
  const char *hidden, *layers, *heads, *intermediate, *activation, *hidden_dropout,
      *attention_dropout;
};
constexpr ConfigKeys kDistilBertKeys{"dim",        "n_layers", "n_heads",          "hidden_dim",
                                     "activation", "dropout",  "attention_dropout"};
constexpr ConfigKeys kBertKeys{
    "hidden_size", "num_hidden_layers",   "num_attention_heads",         "intermediate_size",
    "hidden_act",  "hidden_dropout_prob", "attention_probs_dropout_prob"};

EncoderConfig config_from_json_text(const std::string& text, const std::string& file) {
  const json j = parse_json(text, file);
  if (!j.is_object()) throw FormatError(file, "top level", "expected a JSON object");
  EncoderConfig c;
  c.model_type = get<std::string>(j, "model_type", "", file);
  if (c.model_type != "distilbert" && c.model_type != "bert")
    throw FormatError(file, "key \"model_type\"",
                      "expected \"distilbert\" or \"bert\", got \"" + c.model_type + "\"");
  const bool bert = c.model_type == "bert";
  const ConfigKeys& k = bert ? kBertKeys : kDistilBertKeys;
  check_refused_keys(j, c.model_type, file);
  c.vocab_size = get<int64_t>(j, "vocab_size", 30522, file);
  if (bert) {
    c.hidden = get<int64_t>(j, k.hidden, 768, file);
    c.layers = get<int64_t>(j, k.layers, 12, file);
    c.heads = get<int64_t>(j, k.heads, 12, file);
  } else {
    c.hidden = get_with_alias(j, k.hidden, "hidden_size", 768, file);
    c.layers = get_with_alias(j, k.layers, "num_hidden_layers", 6, file);
    c.heads = get_with_alias(j, k.heads, "num_attention_heads", 12, file);
  }
  c.intermediate = get<int64_t>(j, k.intermediate, 3072, file);
  c.max_positions = get<int64_t>(j, "max_position_embeddings", 512, file);
  c.activation = get<std::string>(j, k.activation, "gelu", file);
  c.hidden_dropout = get<float>(j, k.hidden_dropout, 0.1f, file);
  c.attention_dropout = get<float>(j, k.attention_dropout, 0.1f, file);
  if (bert) {
    c.type_vocab_size = get<int64_t>(j, "type_vocab_size", 2, file);
    c.classifier_dropout = get<float>(j, "classifier_dropout", c.hidden_dropout, file);
    c.layer_norm_eps = get<float>(j, "layer_norm_eps", 1e-12f, file);
    check_positive(c.type_vocab_size, "type_vocab_size", file);
    // LayerNorm divides by sqrt(variance + eps): a row of equal values has variance 0.
    if (!(c.layer_norm_eps > 0.0f))
      throw FormatError(file, "key \"layer_norm_eps\"",
                        "must be positive (LayerNorm divides by sqrt(variance + eps)), got " +
                            j["layer_norm_eps"].dump());
  } else {
    c.sinusoidal_positions = get<bool>(j, "sinusoidal_pos_embds", false, file);
    c.classifier_dropout = get<float>(j, "seq_classif_dropout", 0.2f, file);
    c.layer_norm_eps = 1e-12f;  // hard-coded in transformers' DistilBERT
  }
  c.initializer_range = get<float>(j, "initializer_range", 0.02f, file);
  if (!(c.initializer_range >= 0.0f))
    throw FormatError(file, "key \"initializer_range\"",
                      "must be a standard deviation >= 0, got " + j["initializer_range"].dump());
  // Absent: transformers' default 0. null: no padding row, as nn.Embedding(padding_idx=None).
  const bool no_pad = j.contains("pad_token_id") && j["pad_token_id"].is_null();
  c.pad_token_id = no_pad ? -1 : get<int64_t>(j, "pad_token_id", 0, file);
  read_labels(j, c, file);
  check_positive(c.vocab_size, "vocab_size", file);
  check_positive(c.hidden, k.hidden, file);
  check_positive(c.layers, k.layers, file);
  check_positive(c.heads, k.heads, file);
  check_positive(c.intermediate, k.intermediate, file);
  check_positive(c.max_positions, "max_position_embeddings", file);
  if (!no_pad) check_token_id(c.pad_token_id, "pad_token_id", c.vocab_size, file);
  check_unused_token_ids(j, c.vocab_size, file);
  if (c.hidden % c.heads != 0)
    throw FormatError(file, std::string("key \"") + k.hidden + "\"",
                      "must be divisible by the number of heads");
  check_model_size(c, file);
  if (c.activation != "gelu" && c.activation != "relu")
    throw FormatError(file, std::string("key \"") + k.activation + "\"",
                      "\"" + c.activation + "\" is not supported (gelu, relu)");
  check_probability(c.hidden_dropout, k.hidden_dropout, file);
  check_probability(c.attention_dropout, k.attention_dropout, file);
  check_probability(c.classifier_dropout, bert ? "classifier_dropout" : "seq_classif_dropout",
                    file);
  return c;
}

double estimated_parameters(const EncoderConfig& c) {
  // Every factor is at most 2^24, so this estimate cannot overflow.
  return double(c.vocab_size + c.max_positions + c.type_vocab_size) * c.hidden +
         double(c.layers) * (4.0 * c.hidden * c.hidden + 2.0 * c.hidden * c.intermediate) +
         double(c.hidden) * c.hidden + double(c.num_labels) * c.hidden;  // pooler/pre_classifier
}

void check_model_size(const EncoderConfig& c, const std::string& where) {
  if (c.layers > kMaxLayers)
    throw FormatError(where,
                      c.model_type == "bert" ? "key \"num_hidden_layers\"" : "key \"n_layers\"",
                      std::to_string(c.layers) + " layers, more than this program accepts (" +
                          std::to_string(kMaxLayers) + ")");
  const double parameters = estimated_parameters(c);
  if (parameters > double(int64_t(1) << 32))
    throw FormatError(where, "sizes",
                      "describe a model of " + std::to_string(int64_t(parameters)) +
                          " parameters (with " + std::to_string(c.num_labels) +
                          " labels), more than this program accepts (2^32)");
}

EncoderConfig load_config(const std::string& path) {
  return config_from_json_text(read_file(path, kSettingsFile), path);
}

std::string config_to_json_text(const EncoderConfig& c) {
  json j;
  json id2label = json::object(), label2id = json::object();
  for (size_t i = 0; i < c.id2label.size(); ++i) {
    id2label[std::to_string(i)] = c.id2label[i];
    label2id[c.id2label[i]] = i;
  }
  j["model_type"] = c.model_type;
  j["vocab_size"] = c.vocab_size;
  j["max_position_embeddings"] = c.max_positions;
  j["initializer_range"] = c.initializer_range;
  j["pad_token_id"] = c.pad_token_id >= 0 ? json(c.pad_token_id) : json(nullptr);
  j["id2label"] = id2label;
  j["label2id"] = label2id;
  if (!c.problem_type.empty()) j["problem_type"] = c.problem_type;
  const bool bert = c.model_type == "bert";
  const ConfigKeys& k = bert ? kBertKeys : kDistilBertKeys;
  j[k.hidden] = c.hidden;
  j[k.layers] = c.layers;
  j[k.heads] = c.heads;
  j[k.intermediate] = c.intermediate;
  j[k.activation] = c.activation;
  j[k.hidden_dropout] = c.hidden_dropout;
  j[k.attention_dropout] = c.attention_dropout;
  if (!bert) {
    j["architectures"] = {"DistilBertForSequenceClassification"};
    j["sinusoidal_pos_embds"] = c.sinusoidal_positions;
    j["seq_classif_dropout"] = c.classifier_dropout;
  } else {
    j["architectures"] = {"BertForSequenceClassification"};
    j["type_vocab_size"] = c.type_vocab_size;
    j["classifier_dropout"] = c.classifier_dropout;
    j["layer_norm_eps"] = c.layer_norm_eps;
  }
  return j.dump(2) + "\n";
}

bool is_preset(const std::string& name) {
  return name == "distilbert-base-uncased" || name == "bert-base-uncased";
}

EncoderConfig preset_config(const std::string& name) {
  if (name == "distilbert-base-uncased")
    return config_from_json_text(R"({"model_type": "distilbert"})", name);
  if (name == "bert-base-uncased") return config_from_json_text(R"({"model_type": "bert"})", name);
  throw Error("unknown preset '" + name + "' (known: distilbert-base-uncased, bert-base-uncased)");
}

}  // namespace ag::models
