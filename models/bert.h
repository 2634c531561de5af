// BERT (Devlin et al. 2018) with transformers' exact module tree and parameter names:
//   bert.embeddings.{word_embeddings, position_embeddings, token_type_embeddings, LayerNorm}
//   bert.encoder.layer.N.attention.self.{query, key, value}
//   bert.encoder.layer.N.attention.output.{dense, LayerNorm}
//   bert.encoder.layer.N.intermediate.dense, bert.encoder.layer.N.output.{dense, LayerNorm}
//   bert.pooler.dense, classifier
// The encoder layer itself is the one DistilBERT uses (encoder.h); only the names differ, and
// BERT adds dropout after the attention output projection.
#pragma once

#include "models/encoder.h"

namespace ag::models {

class BertLayer : public nn::Module {
 public:
  explicit BertLayer(const EncoderConfig& c);
  Tensor forward(const Tensor& x, const Indices& mask, bool training, bool first_token_only);

 private:
  const EncoderConfig& config_;
  std::shared_ptr<nn::Module> self_, attention_output_, intermediate_, output_;
  std::shared_ptr<nn::LayerNorm> attention_norm_, output_norm_;
};

class BertModel : public nn::Module {
 public:
  explicit BertModel(const EncoderConfig& c);
  // last hidden state (B, T, D); (B, 1, D) with `first_token_only` (see encoder_layer_forward)
  Tensor forward(const EncoderInput& input, bool first_token_only = false);
  Tensor pool(const Tensor& last_hidden_state);  // tanh(dense(h[:, 0])) (B, D)

 private:
  const EncoderConfig& config_;
  std::shared_ptr<nn::Embedding> word_embeddings_, position_embeddings_, token_type_embeddings_;
  std::shared_ptr<nn::LayerNorm> embedding_norm_;
  std::vector<std::shared_ptr<BertLayer>> layers_;
  std::shared_ptr<nn::Module> pooler_;
};

class BertForSequenceClassification : public SequenceClassifier {
 public:
  explicit BertForSequenceClassification(const EncoderConfig& c);
  Tensor forward(const EncoderInput& input) override;
  Tensor last_hidden_state(const EncoderInput& input) override;
  std::string base_prefix() const override { return "bert"; }
  std::vector<std::string> head_modules() const override { return {"bert.pooler", "classifier"}; }
  std::vector<std::string> module_names_for(const std::string& switch_name) const override;

 private:
  std::shared_ptr<BertModel> bert_;
};

}  // namespace ag::models
