// The pieces DistilBERT and BERT share: the model input, the classifier interface, and the
// transformer encoder layer, written once and driven by both models' own module trees.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "models/config.h"
#include "nn/layers.h"
#include "nn/module.h"
#include "nn/precision.h"

namespace ag::models {

// A padded batch of token ids, all (B, T).
struct EncoderInput {
  Indices input_ids;
  Indices attention_mask;  // 1 for real tokens, 0 for padding
  Indices token_type_ids;  // BERT only; empty means all zeros
  int64_t batch() const { return input_ids.shape.at(0); }
  int64_t length() const { return input_ids.shape.at(1); }
};

// The modules of one encoder layer, whatever names the model gives them. `query` ... `ffn_out`
// are linear-like modules (a Linear or an adapter wrapping one), taken from the model's typed
// slots, which replace_module() keeps pointing at an adapter swapped in.
struct EncoderLayerParts {
  nn::Module &query, &key, &value, &attention_output;
  nn::LayerNorm& attention_norm;
  nn::Module &ffn_in, &ffn_out;
  nn::LayerNorm& output_norm;
};

// Where the two encoders differ: BERT drops the attention output (a' = dropout(a) below),
// DistilBERT does not (a' = a).
enum class AttentionOutputDropout { kNone, kHidden };

// x (B, T, D) -> (B, T, D), or (B, 1, D) with `first_token_only`:
//   a = attention_output(softmax(QKᵀ/√dh + mask) V)   [dropout on the probabilities]
//   h = attention_norm(a' + x)       with a' = dropout(a) (kHidden: BERT) or a (kNone)
//   y = output_norm(dropout(ffn_out(act(ffn_in(h)))) + h)
// With `first_token_only` only the first position's output is computed: its query attends to
// every key, and the rest of the layer runs on B rows instead of B·T. A sequence classifier
// reads nothing else from the last layer, so this skips about 5/6 of that layer's work and
// gives the same logits. `attention` is the precision of the two attention products (QKᵀ and
// P V, and their gradients); the linear layers run in their weights' own precision.
Tensor encoder_layer_forward(const EncoderLayerParts& parts, const EncoderConfig& config,
                             const Tensor& x, const Indices& attention_mask,
                             nn::DropoutMode dropout, AttentionOutputDropout output_dropout,
                             bool first_token_only = false,
                             nn::Precision attention = nn::Precision::kFp32);

// A sequence classifier: DistilBertForSequenceClassification or BertForSequenceClassification.
class SequenceClassifier : public nn::Module {
 public:
  using nn::Module::forward;
  using nn::Module::Module;
  // logits (B, num_labels)
  virtual Tensor forward(const EncoderInput& input) = 0;
  // The encoder's last hidden state (B, T, D), as `model.distilbert(...)[0]` in transformers.
  virtual Tensor last_hidden_state(const EncoderInput& input) = 0;
  // "distilbert" or "bert": the prefix of the encoder's parameter names.
  virtual std::string base_prefix() const = 0;
  // The classification head's modules, created fresh when a checkpoint has no head.
  virtual std::vector<std::string> head_modules() const = 0;
  // The linear layers an adapter may wrap, by the LoRA/DoRA tutorial's switch names (query, key,
  // value, projection, mlp, head) mapped to this model's module names.
  virtual std::vector<std::string> module_names_for(const std::string& switch_name) const = 0;
  const EncoderConfig& config() const { return config_; }
  // The precision the forward hands to every encoder layer's attention products. Set with the
  // weights' precision by models::set_precision; fp32 until then.
  nn::Precision attention_precision() const { return attention_precision_; }
  void set_attention_precision(nn::Precision p) { attention_precision_ = p; }

 protected:
  EncoderConfig config_;
  nn::Precision attention_precision_ = nn::Precision::kFp32;
};

// Runs `model` in precision `p`, as torch.autocast runs a model in bf16: nn::set_precision for
// the linear layers' weights (bf16 copies, `frozen` saying what becomes of the frozen fp32
// values) and the attention products in the same precision.
void set_precision(SequenceClassifier& model, nn::Precision p,
                   nn::FrozenFp32 frozen = nn::FrozenFp32::kRelease);

// Maps the LoRA/DoRA tutorial's switch names (query, key, value, projection, mlp, head) to this
// model's module names and passes any other name (q_lin, attention.output.dense, ...) through.
std::vector<std::string> resolve_targets(const SequenceClassifier& model,
                                         const std::vector<std::string>& names);

// Checks ids against the vocabulary and the sequence length against the position table.
void check_input(const EncoderInput& input, const EncoderConfig& config);

// The word table (its padding row zero) and the learned position table both encoders start
// with, initialised as transformers does. Create them in this order: the generator's draws
// follow it.
std::shared_ptr<nn::Embedding> make_word_embeddings(const EncoderConfig& config);
std::shared_ptr<nn::Embedding> make_position_embeddings(const EncoderConfig& config);

// Builds `config.layers` layers and registers them as `<name>.layer.<i>` of `parent`, inside a
// container module of type `container_type` holding a ModuleList, as transformers nests them
// (BertEncoder "encoder", DistilBERT's Transformer "transformer"). Returns the layers in order.
template <class Layer>
std::vector<std::shared_ptr<Layer>> register_layer_stack(nn::Module& parent,
                                                         const std::string& name,
                                                         const std::string& container_type,
                                                         const EncoderConfig& config) {
  auto container = std::make_shared<nn::Module>(container_type);
  auto list = std::make_shared<nn::Module>("ModuleList");
  std::vector<std::shared_ptr<Layer>> layers;
  for (int64_t i = 0; i < config.layers; ++i) {
    layers.push_back(std::make_shared<Layer>(config));
    list->register_module(std::to_string(i), layers.back());
  }
  container->register_module("layer", list);
  parent.register_module(name, container);
  return layers;
}

}  // namespace ag::models
