#include "models/encoder.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "core/ops.h"

namespace ag::models {

Tensor encoder_layer_forward(const EncoderLayerParts& m, const EncoderConfig& c, const Tensor& x,
                             const Indices& mask, nn::DropoutMode dropout,
                             AttentionOutputDropout output_dropout, bool first_token_only,
                             nn::Precision attention) {
  const float scale = 1.0f / std::sqrt(float(c.head_dim()));
  // The rows that get an output: all of x, or the first token of each sequence (B, 1, D).
  const Tensor rows = first_token_only ? reshape(select(x, 1, 0), {x.size(0), 1, x.size(2)}) : x;
  Tensor q = m.query.forward(rows), k = m.key.forward(x), v = m.value.forward(x);
  Tensor probs = nn::dropout(attention_probs(q, k, mask, c.heads, scale, attention),
                             c.attention_dropout, dropout);
  Tensor a = m.attention_output.forward(attention_context(probs, v, c.heads, attention));
  if (output_dropout == AttentionOutputDropout::kHidden)
    a = nn::dropout(a, c.hidden_dropout, dropout);
  Tensor h = m.attention_norm.forward(a, rows);

  // A plain Linear followed by GELU runs as one fused op; an adapter-wrapped one cannot.
  Tensor f;
  auto* plain = dynamic_cast<nn::Linear*>(&m.ffn_in);
  if (plain && c.activation == "gelu")
    f = linear_gelu(h, plain->weight, plain->bias);
  else
    f = c.activation == "gelu" ? gelu(m.ffn_in.forward(h)) : relu(m.ffn_in.forward(h));
  f = nn::dropout(m.ffn_out.forward(f), c.hidden_dropout, dropout);
  return m.output_norm.forward(f, h);
}

std::shared_ptr<nn::Embedding> make_word_embeddings(const EncoderConfig& c) {
  return std::make_shared<nn::Embedding>(c.vocab_size, c.hidden, c.initializer_range,
                                         c.pad_token_id);
}

std::shared_ptr<nn::Embedding> make_position_embeddings(const EncoderConfig& c) {
  return std::make_shared<nn::Embedding>(c.max_positions, c.hidden, c.initializer_range);
}

void set_precision(SequenceClassifier& model, nn::Precision p, nn::FrozenFp32 frozen) {
  nn::set_precision(model, p, frozen);
  model.set_attention_precision(p);
}

std::vector<std::string> resolve_targets(const SequenceClassifier& model,
                                         const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (auto& name : names) {
    std::vector<std::string> mapped = model.module_names_for(name);
    if (mapped.empty()) mapped = {name};
    for (auto& m : mapped)
      if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  }
  return out;
}

void check_input(const EncoderInput& in, const EncoderConfig& c) {
  if (in.input_ids.shape.size() != 2)
    throw ShapeError("input_ids must be (batch, length), got " + to_string(in.input_ids.shape));
  if (in.attention_mask.shape != in.input_ids.shape)
    throw ShapeError("attention_mask " + to_string(in.attention_mask.shape) +
                     " must match input_ids " + to_string(in.input_ids.shape));
  if (!in.token_type_ids.values.empty() && in.token_type_ids.shape != in.input_ids.shape)
    throw ShapeError("token_type_ids " + to_string(in.token_type_ids.shape) +
                     " must match input_ids " + to_string(in.input_ids.shape));
  if (in.length() > c.max_positions)
    throw ShapeError("sequence length " + std::to_string(in.length()) + " exceeds the model's " +
                     std::to_string(c.max_positions) + " positions");
}

}  // namespace ag::models
