#include "models/config_keys.h"

#include <algorithm>

#include "core/errors.h"

namespace ag::models {
using nlohmann::json;

namespace {

using U = ConfigKeyUse;

// Keys every transformers config has (PretrainedConfig), or had in 4.x.
std::vector<ConfigKey> common_keys() {
  std::vector<ConfigKey> keys = {
      // Read into EncoderConfig.
      {"model_type", U::kImplemented, {}},
      {"vocab_size", U::kImplemented, {}},
      {"max_position_embeddings", U::kImplemented, {}},
      {"initializer_range", U::kImplemented, {}},  // a fresh head's init
      {"pad_token_id", U::kImplemented, {}},       // the word embedding's padding row
      {"id2label", U::kImplemented, {}},
      {"num_labels", U::kImplemented, {}},  // PretrainedConfig(num_labels=...)
      // Change the model or its loss, and are not implemented.
      {"is_encoder_decoder", U::kRefusedUnlessDefault, {false}},
      // Read into EncoderConfig (the train app picks the loss from it); multi-label is refused.
      {"problem_type", U::kRefusedUnlessDefault, {"single_label_classification", "regression"}},
      {"pruned_heads", U::kRefusedUnlessDefault, {json::object()}},
      // Never change what the classifier computes.
      {"transformers_version", U::kIgnored, {}},
      {"architectures", U::kIgnored, {}},  // the apps build the classifier; tensors decide
      {"output_hidden_states", U::kIgnored, {}},
      {"output_attentions", U::kIgnored, {}},
      {"return_dict", U::kIgnored, {}},
      {"dtype", U::kIgnored, {}},  // every weight is read as float32
      {"torch_dtype", U::kIgnored, {}},
      {"use_bfloat16", U::kIgnored, {}},
      {"chunk_size_feed_forward", U::kIgnored, {}},  // the same result, in chunks
      {"label2id", U::kIgnored, {}},                 // id2label's inverse
      {"bos_token_id", U::kIgnored, {}},             // not read; range-checked by the reader
      {"eos_token_id", U::kIgnored, {}},
      {"sep_token_id", U::kIgnored, {}},
      {"tie_word_embeddings", U::kIgnored, {}},  // a masked-LM head only
      {"_name_or_path", U::kIgnored, {}},
      {"gradient_checkpointing", U::kIgnored, {}},  // recomputes, the same result
      {"torchscript", U::kIgnored, {}},
      {"tf_legacy_loss", U::kIgnored, {}},
      {"finetuning_task", U::kIgnored, {}},
      {"tokenizer_class", U::kIgnored, {}},
      {"prefix", U::kIgnored, {}},
      {"task_specific_params", U::kIgnored, {}},
      {"decoder_start_token_id", U::kIgnored, {}},
      {"cross_attention_hidden_size", U::kIgnored, {}},  // only with add_cross_attention
      {"tie_encoder_decoder", U::kIgnored, {}},
  };
  // Text generation settings of transformers 4.x: an encoder classifier never generates.
  for (const char* name : {"max_length",
                           "min_length",
                           "do_sample",
                           "early_stopping",
                           "num_beams",
                           "num_beam_groups",
                           "diversity_penalty",
                           "temperature",
                           "top_k",
                           "top_p",
                           "typical_p",
                           "repetition_penalty",
                           "length_penalty",
                           "no_repeat_ngram_size",
                           "encoder_no_repeat_ngram_size",
                           "bad_words_ids",
                           "num_return_sequences",
                           "output_scores",
                           "return_dict_in_generate",
                           "forced_bos_token_id",
                           "forced_eos_token_id",
                           "remove_invalid_values",
                           "exponential_decay_length_penalty",
                           "suppress_tokens",
                           "begin_suppress_tokens"})
    keys.push_back({name, U::kIgnored, {}});
  return keys;
}

std::vector<ConfigKey> bert_keys() {
  std::vector<ConfigKey> keys = common_keys();
  const std::vector<ConfigKey> own = {
      {"hidden_size", U::kImplemented, {}},
      {"num_hidden_layers", U::kImplemented, {}},
      {"num_attention_heads", U::kImplemented, {}},
      {"intermediate_size", U::kImplemented, {}},
      {"hidden_act", U::kImplemented, {}},
      {"hidden_dropout_prob", U::kImplemented, {}},
      {"attention_probs_dropout_prob", U::kImplemented, {}},
      {"type_vocab_size", U::kImplemented, {}},
      {"layer_norm_eps", U::kImplemented, {}},
      {"classifier_dropout", U::kImplemented, {}},
      // A decoder (causal mask, cross-attention) or relative positions (transformers 4.x).
      {"is_decoder", U::kRefusedUnlessDefault, {false}},
      {"add_cross_attention", U::kRefusedUnlessDefault, {false}},
      {"position_embedding_type", U::kRefusedUnlessDefault, {"absolute"}},
      {"use_cache", U::kIgnored, {}},  // a decoder's key/value cache
  };
  keys.insert(keys.end(), own.begin(), own.end());
  return keys;
}

std::vector<ConfigKey> distilbert_keys() {
  std::vector<ConfigKey> keys = common_keys();
  const std::vector<ConfigKey> own = {
      {"sinusoidal_pos_embds", U::kImplemented, {}},
      {"n_layers", U::kImplemented, {}},
      {"n_heads", U::kImplemented, {}},
      {"dim", U::kImplemented, {}},
      {"hidden_dim", U::kImplemented, {}},
      {"dropout", U::kImplemented, {}},
      {"attention_dropout", U::kImplemented, {}},
      {"activation", U::kImplemented, {}},
      {"seq_classif_dropout", U::kImplemented, {}},
      // transformers' attribute_map names for dim, n_heads and n_layers.
      {"hidden_size", U::kImplemented, {}},
      {"num_attention_heads", U::kImplemented, {}},
      {"num_hidden_layers", U::kImplemented, {}},
      {"qa_dropout", U::kIgnored, {}},    // the question-answering head only
      {"output_past", U::kIgnored, {}},   // caching, in old versions
      {"tie_weights_", U::kIgnored, {}},  // ties a masked-LM head, in old versions
  };
  keys.insert(keys.end(), own.begin(), own.end());
  return keys;
}

}  // namespace

const std::vector<ConfigKey>& config_keys(const std::string& model_type) {
  static const std::vector<ConfigKey> bert = bert_keys(), distilbert = distilbert_keys();
  if (model_type == "bert") return bert;
  if (model_type == "distilbert") return distilbert;
  throw Error("config_keys: unknown model_type '" + model_type + "'");
}

void check_refused_keys(const json& config, const std::string& model_type,
                        const std::string& path) {
  for (const ConfigKey& key : config_keys(model_type)) {
    if (key.use != ConfigKeyUse::kRefusedUnlessDefault) continue;
    const auto it = config.find(key.name);
    if (it == config.end() || it->is_null()) continue;
    if (std::find(key.accepted.begin(), key.accepted.end(), *it) != key.accepted.end()) continue;
    std::string accepted, found = it->dump(-1, ' ', true);  // ASCII: safe to cut
    for (const json& value : key.accepted)
      accepted += (accepted.empty() ? "" : ", ") + value.dump();
    if (found.size() > 80) found = found.substr(0, 80) + "...";
    throw FormatError(path, "key \"" + key.name + "\"",
                      found + " changes the model's math and is not implemented by adaptgrad " +
                          "(accepted: " + accepted + ")");
  }
}

}  // namespace ag::models
