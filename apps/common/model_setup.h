// The train app's model: load or create the encoder, then apply the training method
// (lora | dora | full | head) and sort the trainable parameters into AdamW groups.
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/common/train_config.h"
#include "data/label_map.h"
#include "models/encoder.h"
#include "nn/lora.h"
#include "nn/optim.h"

namespace ag::apps {

// `model` is a Hugging Face folder (pretrained weights; a missing head is created), a preset
// name or a config.json file (random initialisation from the current seed). The classifier
// gets one output per label and the label names as id2label. Sets *random_init accordingly.
std::shared_ptr<models::SequenceClassifier> load_base_model(const std::string& model,
                                                            const data::LabelMap& labels,
                                                            std::ostream* notices,
                                                            bool* random_init = nullptr);

// The LoraConfig for --method lora/dora and the adapter flags. With --train-head the head
// modules are modules_to_save, except those an adapter already wraps.
nn::LoraConfig make_lora_config(const TrainConfig& config, const models::SequenceClassifier& model);

// Freezes / unfreezes / wraps `model` for config.method. Returns the LoRA config for
// lora/dora (nullopt for full/head). Prints what it did to `log`.
std::optional<nn::LoraConfig> apply_method(models::SequenceClassifier& model,
                                           const TrainConfig& config, std::ostream& log);

// AdamW groups: [0] decayed (weights), [1] no decay (biases, LayerNorm weights, DoRA
// magnitudes). `names` receives the parameter names in the optimizer's (flattened) order.
std::vector<nn::ParamGroup> make_param_groups(nn::Module& model, float weight_decay,
                                              std::vector<std::string>& names);

}  // namespace ag::apps
