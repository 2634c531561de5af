// Model configurations, read from Hugging Face config.json files or built-in presets.
#pragma once

#include <string>
#include <vector>

namespace ag::models {

// What both encoders share, in one vocabulary: the transformer block reads only this.
struct EncoderConfig {
  std::string model_type;  // "distilbert" or "bert"
  int64_t vocab_size = 30522;
  int64_t hidden = 768;         // DistilBERT: dim; BERT: hidden_size
  int64_t layers = 6;           // n_layers / num_hidden_layers
  int64_t heads = 12;           // n_heads / num_attention_heads
  int64_t intermediate = 3072;  // hidden_dim / intermediate_size
  int64_t max_positions = 512;
  int64_t type_vocab_size = 0;        // BERT's token types (0 for DistilBERT)
  bool sinusoidal_positions = false;  // DistilBERT's sinusoidal_pos_embds
  std::string activation = "gelu";
  float hidden_dropout = 0.1f;      // dropout / hidden_dropout_prob
  float attention_dropout = 0.1f;   // attention_dropout / attention_probs_dropout_prob
  float classifier_dropout = 0.2f;  // seq_classif_dropout / classifier_dropout (or hidden)
  float layer_norm_eps = 1e-12f;
  float initializer_range = 0.02f;
  int64_t pad_token_id = 0;  // a row of the word embeddings; -1 (config.json null) for none
  int64_t num_labels = 2;
  std::vector<std::string> id2label;  // label names, index = class id
  // "" (unset), "single_label_classification" or "regression" (num_labels 1, MSE loss): the
  // forward pass is the same, the loss a trainer picks and what a score means are not.
  std::string problem_type;

  int64_t head_dim() const { return hidden / heads; }
};

// Reads config.json (DistilBERT or BERT, chosen by "model_type"). Errors name the file and key.
EncoderConfig load_config(const std::string& path);
EncoderConfig config_from_json_text(const std::string& text, const std::string& display_name);
// Checks the size of the model `config` describes, classification head included, before
// anything is allocated: at most kMaxLayers layers and 2^32 parameters. Throws FormatError
// naming `where` (the config.json, or the flag that set num_labels).
inline constexpr int64_t kMaxLayers = 1024;
void check_model_size(const EncoderConfig& config, const std::string& where);
// Estimated parameters of that model (embeddings, layers and head; biases and norms left out).
double estimated_parameters(const EncoderConfig& config);
// Writes a config.json that transformers reads back into the same model.
std::string config_to_json_text(const EncoderConfig& config);

// Built-in presets (shapes only, no weights): "distilbert-base-uncased", "bert-base-uncased".
bool is_preset(const std::string& name);
EncoderConfig preset_config(const std::string& name);

}  // namespace ag::models
