#include "models/distilbert.h"

#include <cmath>
#include <numeric>

#include "core/errors.h"
#include "core/ops.h"

namespace ag::models {

static std::shared_ptr<nn::Module> linear(int64_t in, int64_t out, const EncoderConfig& c) {
  return std::make_shared<nn::Linear>(in, out, true, c.initializer_range);
}

DistilBertAttention::DistilBertAttention(const EncoderConfig& c)
    : Module("MultiHeadSelfAttention") {
  for (auto [name, slot] :
       {std::pair{"q_lin", &q_lin}, {"k_lin", &k_lin}, {"v_lin", &v_lin}, {"out_lin", &out_lin}}) {
    *slot = linear(c.hidden, c.hidden, c);
    register_module(name, slot);
  }
}

DistilBertFFN::DistilBertFFN(const EncoderConfig& c) : Module("FFN") {
  lin1 = linear(c.hidden, c.intermediate, c);
  lin2 = linear(c.intermediate, c.hidden, c);
  register_module("lin1", &lin1);
  register_module("lin2", &lin2);
}

DistilBertBlock::DistilBertBlock(const EncoderConfig& c) : Module("TransformerBlock"), config_(c) {
  attention_ = std::make_shared<DistilBertAttention>(c);
  sa_layer_norm_ = std::make_shared<nn::LayerNorm>(c.hidden, c.layer_norm_eps);
  ffn_ = std::make_shared<DistilBertFFN>(c);
  output_layer_norm_ = std::make_shared<nn::LayerNorm>(c.hidden, c.layer_norm_eps);
  register_module("attention", &attention_);
  register_module("sa_layer_norm", &sa_layer_norm_);
  register_module("ffn", &ffn_);
  register_module("output_layer_norm", &output_layer_norm_);
}

Tensor DistilBertBlock::forward(const Tensor& x, const Indices& mask, nn::DropoutMode dropout,
                                bool first_token_only, nn::Precision attention) {
  const EncoderLayerParts parts{*attention_->q_lin,   *attention_->k_lin, *attention_->v_lin,
                                *attention_->out_lin, *sa_layer_norm_,    *ffn_->lin1,
                                *ffn_->lin2,          *output_layer_norm_};
  return encoder_layer_forward(parts, config_, x, mask, dropout, AttentionOutputDropout::kNone,
                               first_token_only, attention);
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
  word_embeddings_ = make_word_embeddings(c);
  position_embeddings_ = make_position_embeddings(c);
  if (c.sinusoidal_positions) {
    if (!nn::SkipInit::active()) fill_sinusoidal_positions(position_embeddings_->weight);
    position_embeddings_->weight.set_requires_grad(false);  // fixed, as in transformers
  }
  embedding_norm_ = std::make_shared<nn::LayerNorm>(c.hidden, c.layer_norm_eps);
  embeddings->register_module("word_embeddings", word_embeddings_);
  embeddings->register_module("position_embeddings", position_embeddings_);
  embeddings->register_module("LayerNorm", embedding_norm_);
  register_module("embeddings", embeddings);

  blocks_ = register_layer_stack<DistilBertBlock>(*this, "transformer", "Transformer", c);
}

Tensor DistilBertModel::forward(const EncoderInput& in, bool first_token_only,
                                nn::Precision attention) {
  check_input(in, config_);
  const int64_t T = in.length();
  Indices positions{{T}, std::vector<int32_t>(T)};
  std::iota(positions.values.begin(), positions.values.end(), 0);
  // (B, T, D) + (T, D) broadcast, then LayerNorm and dropout.
  Tensor x = add(word_embeddings_->forward(in.input_ids), position_embeddings_->forward(positions));
  x = nn::dropout(embedding_norm_->forward(x), config_.hidden_dropout, dropout_mode());
  for (size_t i = 0; i < blocks_.size(); ++i)
    x = blocks_[i]->forward(x, in.attention_mask, dropout_mode(),
                            first_token_only && i + 1 == blocks_.size(), attention);
  return x;
}

DistilBertForSequenceClassification::DistilBertForSequenceClassification(const EncoderConfig& c)
    : SequenceClassifier("DistilBertForSequenceClassification") {
  config_ = c;
  distilbert_ = std::make_shared<DistilBertModel>(config_);
  register_module("distilbert", distilbert_);
  pre_classifier_ = linear(c.hidden, c.hidden, c);
  classifier_ = linear(c.hidden, c.num_labels, c);
  register_module("pre_classifier", &pre_classifier_);
  register_module("classifier", &classifier_);
}

Tensor DistilBertForSequenceClassification::last_hidden_state(const EncoderInput& in) {
  return distilbert_->forward(in, /*first_token_only=*/false, attention_precision_);
}

// hidden state of [CLS] -> pre_classifier -> ReLU -> dropout -> classifier
Tensor DistilBertForSequenceClassification::forward(const EncoderInput& in) {
  Tensor cls =
      select(distilbert_->forward(in, /*first_token_only=*/true, attention_precision_), 1, 0);
  Tensor h = relu(pre_classifier_->forward(cls));
  h = nn::dropout(h, config_.classifier_dropout, dropout_mode());
  return classifier_->forward(h);
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
