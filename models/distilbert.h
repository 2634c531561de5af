// DistilBERT (Sanh et al. 2019) with transformers' exact module tree and parameter names:
//   distilbert.embeddings.{word_embeddings, position_embeddings, LayerNorm}
//   distilbert.transformer.layer.N.attention.{q_lin, k_lin, v_lin, out_lin}
//   distilbert.transformer.layer.N.{sa_layer_norm, ffn.lin1, ffn.lin2, output_layer_norm}
//   pre_classifier, classifier
#pragma once

#include "models/encoder.h"

namespace ag::models {

// The children a forward calls are typed members registered as slots (nn::Module's
// register_module(name, &slot)): an adapter that replaces q_lin by name is what the slot then
// holds. A linear an adapter may wrap is held as an nn::Module and called through its forward.

// transformers' MultiHeadSelfAttention: the four projections, D -> D each. The attention
// itself is encoder_layer_forward's.
class DistilBertAttention : public nn::Module {
 public:
  explicit DistilBertAttention(const EncoderConfig& c);
  std::shared_ptr<nn::Module> q_lin, k_lin, v_lin, out_lin;
};

// transformers' FFN: lin1 (D -> intermediate), lin2 (intermediate -> D).
class DistilBertFFN : public nn::Module {
 public:
  explicit DistilBertFFN(const EncoderConfig& c);
  std::shared_ptr<nn::Module> lin1, lin2;
};

class DistilBertBlock : public nn::Module {
 public:
  explicit DistilBertBlock(const EncoderConfig& c);
  Tensor forward(const Tensor& x, const Indices& mask, nn::DropoutMode dropout,
                 bool first_token_only, nn::Precision attention);

 private:
  const EncoderConfig& config_;
  std::shared_ptr<DistilBertAttention> attention_;
  std::shared_ptr<nn::LayerNorm> sa_layer_norm_;
  std::shared_ptr<DistilBertFFN> ffn_;
  std::shared_ptr<nn::LayerNorm> output_layer_norm_;
};

class DistilBertModel : public nn::Module {
 public:
  explicit DistilBertModel(const EncoderConfig& c);
  // last hidden state (B, T, D); (B, 1, D) with `first_token_only`; `attention` the precision
  // of the attention products (see encoder_layer_forward)
  Tensor forward(const EncoderInput& input, bool first_token_only = false,
                 nn::Precision attention = nn::Precision::kFp32);

 private:
  const EncoderConfig& config_;
  std::shared_ptr<nn::Embedding> word_embeddings_, position_embeddings_;
  std::shared_ptr<nn::LayerNorm> embedding_norm_;
  std::vector<std::shared_ptr<DistilBertBlock>> blocks_;
};

class DistilBertForSequenceClassification : public SequenceClassifier {
 public:
  explicit DistilBertForSequenceClassification(const EncoderConfig& c);
  Tensor forward(const EncoderInput& input) override;
  Tensor last_hidden_state(const EncoderInput& input) override;
  std::string base_prefix() const override { return "distilbert"; }
  std::vector<std::string> head_modules() const override {
    return {"pre_classifier", "classifier"};
  }
  std::vector<std::string> module_names_for(const std::string& switch_name) const override;

 private:
  std::shared_ptr<DistilBertModel> distilbert_;
  std::shared_ptr<nn::Module> pre_classifier_, classifier_;  // Linears, or adapters on them
};

// Fills DistilBERT's fixed sinusoidal position table (sinusoidal_pos_embds = true):
// even columns sin(pos / 10000^(2⌊j/2⌋/D)), odd columns cos of the same angle.
void fill_sinusoidal_positions(const Tensor& table);

}  // namespace ag::models
