#include "models/bert.h"

#include <numeric>

#include "core/ops.h"

namespace ag::models {

static std::shared_ptr<nn::Module> linear(int64_t in, int64_t out, const EncoderConfig& c) {
  return std::make_shared<nn::Linear>(in, out, true, c.initializer_range);
}

BertSelfAttention::BertSelfAttention(const EncoderConfig& c) : Module("BertSelfAttention") {
  for (auto [name, slot] : {std::pair{"query", &query}, {"key", &key}, {"value", &value}}) {
    *slot = linear(c.hidden, c.hidden, c);
    register_module(name, slot);
  }
}

BertDenseNorm::BertDenseNorm(const std::string& type_name, int64_t in, const EncoderConfig& c)
    : Module(type_name) {
  dense = linear(in, c.hidden, c);
  layer_norm = std::make_shared<nn::LayerNorm>(c.hidden, c.layer_norm_eps);
  register_module("dense", &dense);
  register_module("LayerNorm", &layer_norm);
}

BertDense::BertDense(const std::string& type_name, int64_t out, const EncoderConfig& c)
    : Module(type_name) {
  dense = linear(c.hidden, out, c);
  register_module("dense", &dense);
}

BertAttention::BertAttention(const EncoderConfig& c) : Module("BertAttention") {
  self = std::make_shared<BertSelfAttention>(c);
  output = std::make_shared<BertDenseNorm>("BertSelfOutput", c.hidden, c);
  register_module("self", &self);
  register_module("output", &output);
}

BertLayer::BertLayer(const EncoderConfig& c) : Module("BertLayer"), config_(c) {
  attention_ = std::make_shared<BertAttention>(c);
  intermediate_ = std::make_shared<BertDense>("BertIntermediate", c.intermediate, c);
  output_ = std::make_shared<BertDenseNorm>("BertOutput", c.intermediate, c);
  register_module("attention", &attention_);
  register_module("intermediate", &intermediate_);
  register_module("output", &output_);
}

Tensor BertLayer::forward(const Tensor& x, const Indices& mask, nn::DropoutMode dropout,
                          bool first_token_only, nn::Precision attention) {
  const BertSelfAttention& self = *attention_->self;
  const EncoderLayerParts parts{*self.query,
                                *self.key,
                                *self.value,
                                *attention_->output->dense,
                                *attention_->output->layer_norm,
                                *intermediate_->dense,
                                *output_->dense,
                                *output_->layer_norm};
  return encoder_layer_forward(parts, config_, x, mask, dropout, AttentionOutputDropout::kHidden,
                               first_token_only, attention);
}

BertModel::BertModel(const EncoderConfig& c) : Module("BertModel"), config_(c) {
  auto embeddings = std::make_shared<nn::Module>("BertEmbeddings");
  word_embeddings_ = make_word_embeddings(c);
  position_embeddings_ = make_position_embeddings(c);
  token_type_embeddings_ =
      std::make_shared<nn::Embedding>(c.type_vocab_size, c.hidden, c.initializer_range);
  embedding_norm_ = std::make_shared<nn::LayerNorm>(c.hidden, c.layer_norm_eps);
  embeddings->register_module("word_embeddings", word_embeddings_);
  embeddings->register_module("position_embeddings", position_embeddings_);
  embeddings->register_module("token_type_embeddings", token_type_embeddings_);
  embeddings->register_module("LayerNorm", embedding_norm_);
  register_module("embeddings", embeddings);

  layers_ = register_layer_stack<BertLayer>(*this, "encoder", "BertEncoder", c);
  pooler_ = std::make_shared<BertDense>("BertPooler", c.hidden, c);
  register_module("pooler", &pooler_);
}

Tensor BertModel::forward(const EncoderInput& in, bool first_token_only, nn::Precision attention) {
  check_input(in, config_);
  const int64_t T = in.length();
  Indices positions{{T}, std::vector<int32_t>(T)};
  std::iota(positions.values.begin(), positions.values.end(), 0);
  Indices types = in.token_type_ids;
  if (types.values.empty())
    types = {in.input_ids.shape, std::vector<int32_t>(in.input_ids.numel(), 0)};
  // word + token type + position (in transformers' order), then LayerNorm and dropout.
  Tensor x = add(word_embeddings_->forward(in.input_ids), token_type_embeddings_->forward(types));
  x = add(x, position_embeddings_->forward(positions));
  x = nn::dropout(embedding_norm_->forward(x), config_.hidden_dropout, dropout_mode());
  for (size_t i = 0; i < layers_.size(); ++i)
    x = layers_[i]->forward(x, in.attention_mask, dropout_mode(),
                            first_token_only && i + 1 == layers_.size(), attention);
  return x;
}

Tensor BertModel::pool(const Tensor& h) {
  return tanh(pooler_->dense->forward(select(h, 1, 0)));
}

BertForSequenceClassification::BertForSequenceClassification(const EncoderConfig& c)
    : SequenceClassifier("BertForSequenceClassification") {
  config_ = c;
  bert_ = std::make_shared<BertModel>(config_);
  register_module("bert", bert_);
  classifier_ = linear(c.hidden, c.num_labels, config_);
  register_module("classifier", &classifier_);
}

Tensor BertForSequenceClassification::last_hidden_state(const EncoderInput& in) {
  return bert_->forward(in, /*first_token_only=*/false, attention_precision_);
}

// pooled [CLS] -> dropout -> classifier
Tensor BertForSequenceClassification::forward(const EncoderInput& in) {
  Tensor pooled = bert_->pool(bert_->forward(in, /*first_token_only=*/true, attention_precision_));
  return classifier_->forward(nn::dropout(pooled, config_.classifier_dropout, dropout_mode()));
}

std::vector<std::string> BertForSequenceClassification::module_names_for(
    const std::string& s) const {
  if (s == "query" || s == "key" || s == "value") return {s};
  if (s == "projection") return {"attention.output.dense"};
  if (s == "head") return {"bert.pooler.dense", "classifier"};
  if (s == "mlp") {
    // "output.dense" alone would also match attention.output.dense, so name each layer's.
    std::vector<std::string> names;
    for (int64_t i = 0; i < config_.layers; ++i) {
      names.push_back("bert.encoder.layer." + std::to_string(i) + ".intermediate.dense");
      names.push_back("bert.encoder.layer." + std::to_string(i) + ".output.dense");
    }
    return names;
  }
  return {};
}

}  // namespace ag::models
