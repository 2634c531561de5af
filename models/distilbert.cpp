#include "models/distilbert.h"

#include <cmath>
#include <numeric>

#include "core/errors.h"
#include "core/ops.h"

namespace ag::models {

DistilBertBlock::DistilBertBlock(const EncoderConfig& c) : Module("TransformerBlock"), config_(c) {
  const float std = c.initializer_range;
  attention_ = std::make_shared<nn::Module>("MultiHeadSelfAttention");
  for (const char* name : {"q_lin", "k_lin", "v_lin", "out_lin"})
    attention_->register_module(name, std::make_shared<nn::Linear>(c.hidden, c.hidden, true, std));
  register_module("attention", attention_);
  sa_layer_norm_ = std::make_shared<nn::LayerNorm>(c.hidden, c.layer_norm_eps);
  register_module("sa_layer_norm", sa_layer_norm_);
  ffn_ = std::make_shared<nn::Module>("FFN");
  ffn_->register_module("lin1", std::make_shared<nn::Linear>(c.hidden, c.intermediate, true, std));
  ffn_->register_module("lin2", std::make_shared<nn::Linear>(c.intermediate, c.hidden, true, std));
  register_module("ffn", ffn_);
  output_layer_norm_ = std::make_shared<nn::LayerNorm>(c.hidden, c.layer_norm_eps);
  register_module("output_layer_norm", output_layer_norm_);
}

Tensor DistilBertBlock::forward(const Tensor& x, const Indices& mask, bool training,
                                bool first_token_only) {
  EncoderLayerParts parts{*attention_->child("q_lin"),
                          *attention_->child("k_lin"),
                          *attention_->child("v_lin"),
                          *attention_->child("out_lin"),
                          *sa_layer_norm_,
                          *ffn_->child("lin1"),
                          *ffn_->child("lin2"),
                          *output_layer_norm_};
  return encoder_layer_forward(parts, config_, x, mask, training, false, first_token_only);
}

void fill_sinusoidal_positions(const Tensor& table) {
  const int64_t n = table.size(0), D = table.size(1);
  for (int64_t pos = 0; pos < n; ++pos)
    for (int64_t j = 0; j < D; ++j) {
      const double angle = double(pos) / std::pow(10000.0, 2.0 * double(j / 2) / double(D));
      table.data()[pos * D + j] = float(j % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
}

DistilBertModel::DistilBertModel(const EncoderConfig& c) : Module("DistilBertModel"), config_(c) {
  auto embeddings = std::make_shared<nn::Module>("Embeddings");
  word_embeddings_ =
      std::make_shared<nn::Embedding>(c.vocab_size, c.hidden, c.initializer_range, c.pad_token_id);
  position_embeddings_ =
      std::make_shared<nn::Embedding>(c.max_positions, c.hidden, c.initializer_range);
  if (c.sinusoidal_positions) {
    if (!nn::SkipInit::active()) fill_sinusoidal_positions(position_embeddings_->weight);
    position_embeddings_->weight.set_requires_grad(false);  // fixed, as in transformers
  }
  embedding_norm_ = std::make_shared<nn::LayerNorm>(c.hidden, c.layer_norm_eps);
  embeddings->register_module("word_embeddings", word_embeddings_);
  embeddings->register_module("position_embeddings", position_embeddings_);
  embeddings->register_module("LayerNorm", embedding_norm_);
  register_module("embeddings", embeddings);

  auto transformer = std::make_shared<nn::Module>("Transformer");
  auto layers = std::make_shared<nn::Module>("ModuleList");
  for (int64_t i = 0; i < c.layers; ++i) {
    blocks_.push_back(std::make_shared<DistilBertBlock>(c));
    layers->register_module(std::to_string(i), blocks_.back());
  }
  transformer->register_module("layer", layers);
  register_module("transformer", transformer);
}

Tensor DistilBertModel::forward(const EncoderInput& in, bool first_token_only) {
  check_input(in, config_);
  const int64_t T = in.length();
  Indices positions{{T}, std::vector<int32_t>(T)};
  std::iota(positions.values.begin(), positions.values.end(), 0);
  // (B, T, D) + (T, D) broadcast, then LayerNorm and dropout.
  Tensor x = add(word_embeddings_->forward(in.input_ids), position_embeddings_->forward(positions));
  x = dropout(embedding_norm_->forward(x), config_.hidden_dropout, is_training());
  for (size_t i = 0; i < blocks_.size(); ++i)
    x = blocks_[i]->forward(x, in.attention_mask, is_training(),
                            first_token_only && i + 1 == blocks_.size());
  return x;
}

DistilBertForSequenceClassification::DistilBertForSequenceClassification(const EncoderConfig& c)
    : SequenceClassifier("DistilBertForSequenceClassification") {
  config_ = c;
  distilbert_ = std::make_shared<DistilBertModel>(config_);
  register_module("distilbert", distilbert_);
  register_module("pre_classifier",
                  std::make_shared<nn::Linear>(c.hidden, c.hidden, true, c.initializer_range));
  register_module("classifier",
                  std::make_shared<nn::Linear>(c.hidden, c.num_labels, true, c.initializer_range));
}

Tensor DistilBertForSequenceClassification::last_hidden_state(const EncoderInput& in) {
  return distilbert_->forward(in);
}

// hidden state of [CLS] -> pre_classifier -> ReLU -> dropout -> classifier
Tensor DistilBertForSequenceClassification::forward(const EncoderInput& in) {
  Tensor cls = select(distilbert_->forward(in, /*first_token_only=*/true), 1, 0);
  Tensor h = relu(child("pre_classifier")->forward(cls));
  h = dropout(h, config_.classifier_dropout, is_training());
  return child("classifier")->forward(h);
}

std::vector<std::string> DistilBertForSequenceClassification::module_names_for(
    const std::string& s) const {
  if (s == "query") return {"q_lin"};
  if (s == "key") return {"k_lin"};
  if (s == "value") return {"v_lin"};
  if (s == "projection") return {"out_lin"};
  if (s == "mlp") return {"lin1", "lin2"};
  if (s == "head") return {"pre_classifier", "classifier"};
  return {};
}

}  // namespace ag::models
