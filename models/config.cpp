#include "models/config.h"

#include <nlohmann/json.hpp>
#include <type_traits>

#include "core/errors.h"
#include "core/io/json_util.h"
#include "core/io/read_file.h"

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
    return float(json_number(*it, file, key));
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

// num_labels from "num_labels", else from the size of "id2label", else 2 (HF's default).
void read_labels(const json& j, EncoderConfig& c, const std::string& file) {
  auto it = j.find("id2label");
  if (it != j.end() && it->is_object()) {
    c.id2label.assign(it->size(), "");
    for (auto& [k, v] : it->items()) {
      size_t idx = 0;
      try {
        idx = std::stoul(k);
      } catch (...) {
        throw FormatError(file, "key \"id2label\"", "has a non-integer id \"" + k + "\"");
      }
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
  c.vocab_size = get<int64_t>(j, "vocab_size", 30522, file);
  c.hidden = get<int64_t>(j, k.hidden, 768, file);
  c.layers = get<int64_t>(j, k.layers, bert ? 12 : 6, file);
  c.heads = get<int64_t>(j, k.heads, 12, file);
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
  } else {
    c.sinusoidal_positions = get<bool>(j, "sinusoidal_pos_embds", false, file);
    c.classifier_dropout = get<float>(j, "seq_classif_dropout", 0.2f, file);
    c.layer_norm_eps = 1e-12f;  // hard-coded in transformers' DistilBERT
  }
  c.initializer_range = get<float>(j, "initializer_range", 0.02f, file);
  c.pad_token_id = get<int64_t>(j, "pad_token_id", 0, file);
  read_labels(j, c, file);
  check_positive(c.vocab_size, "vocab_size", file);
  check_positive(c.hidden, k.hidden, file);
  check_positive(c.layers, k.layers, file);
  check_positive(c.heads, k.heads, file);
  check_positive(c.intermediate, k.intermediate, file);
  check_positive(c.max_positions, "max_position_embeddings", file);
  if (c.hidden % c.heads != 0)
    throw FormatError(file, std::string("key \"") + k.hidden + "\"",
                      "must be divisible by the number of heads");
  check_model_size(c, file);
  if (c.activation != "gelu" && c.activation != "relu")
    throw FormatError(file, "activation", "\"" + c.activation + "\" is not supported (gelu, relu)");
  check_probability(c.hidden_dropout, k.hidden_dropout, file);
  check_probability(c.attention_dropout, k.attention_dropout, file);
  check_probability(c.classifier_dropout, "classifier dropout", file);
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
  return config_from_json_text(read_file(path), path);
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
  j["pad_token_id"] = c.pad_token_id;
  j["id2label"] = id2label;
  j["label2id"] = label2id;
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
