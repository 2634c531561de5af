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

// The children a forward calls are typed members registered as slots (nn::Module's
// register_module(name, &slot)): an adapter that replaces `query` by name is what the slot then
// holds. A linear an adapter may wrap is held as an nn::Module and called through its forward.

// transformers' BertSelfAttention: the query, key and value projections, D -> D each.
class BertSelfAttention : public nn::Module {
 public:
  explicit BertSelfAttention(const EncoderConfig& c);
  std::shared_ptr<nn::Module> query, key, value;
};

// A dense layer then LayerNorm(dense(.) + residual): transformers' BertSelfOutput
// (D -> D, after attention) and BertOutput (intermediate -> D, after the feed-forward).
class BertDenseNorm : public nn::Module {
 public:
  BertDenseNorm(const std::string& type_name, int64_t in, const EncoderConfig& c);
  std::shared_ptr<nn::Module> dense;
  std::shared_ptr<nn::LayerNorm> layer_norm;  // "LayerNorm"
};

// One dense layer: transformers' BertIntermediate (D -> intermediate) and BertPooler (D -> D).
class BertDense : public nn::Module {
 public:
  BertDense(const std::string& type_name, int64_t out, const EncoderConfig& c);
  std::shared_ptr<nn::Module> dense;
};

// transformers' BertAttention: self-attention's projections and its output block.
class BertAttention : public nn::Module {
 public:
  explicit BertAttention(const EncoderConfig& c);
  std::shared_ptr<BertSelfAttention> self;
  std::shared_ptr<BertDenseNorm> output;
};

class BertLayer : public nn::Module {
 public:
  explicit BertLayer(const EncoderConfig& c);
  Tensor forward(const Tensor& x, const Indices& mask, nn::DropoutMode dropout,
                 bool first_token_only, nn::Precision attention);

 private:
  const EncoderConfig& config_;
  std::shared_ptr<BertAttention> attention_;
  std::shared_ptr<BertDense> intermediate_;
  std::shared_ptr<BertDenseNorm> output_;
};

class BertModel : public nn::Module {
 public:
  explicit BertModel(const EncoderConfig& c);
  // last hidden state (B, T, D); (B, 1, D) with `first_token_only`; `attention` the precision
  // of the attention products (see encoder_layer_forward)
  Tensor forward(const EncoderInput& input, bool first_token_only = false,
                 nn::Precision attention = nn::Precision::kFp32);
  Tensor pool(const Tensor& last_hidden_state);  // tanh(dense(h[:, 0])) (B, D)

 private:
  const EncoderConfig& config_;
  std::shared_ptr<nn::Embedding> word_embeddings_, position_embeddings_, token_type_embeddings_;
  std::shared_ptr<nn::LayerNorm> embedding_norm_;
  std::vector<std::shared_ptr<BertLayer>> layers_;
  std::shared_ptr<BertDense> pooler_;
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
  std::shared_ptr<nn::Module> classifier_;  // a Linear, or an adapter on it
};

}  // namespace ag::models
