// Adapters in PEFT's format: a folder with adapter_config.json and adapter_model.safetensors
// whose keys are "base_model.model.<parameter name>" (lora_A.weight, lora_B.weight,
// lora_magnitude_vector, and every parameter of the modules_to_save). A folder written here
// loads in PEFT (PeftModel.from_pretrained) and one written by PEFT loads here.
#pragma once

#include <iosfwd>
#include <string>

#include "nn/inject.h"
#include "nn/lora.h"
#include "nn/module.h"

namespace ag::nn {

// Writes the adapter of `model` (wrapped by apply_lora with `config`) into `folder`.
// The LoRA/DoRA tutorial's scaling (s = alpha) is written as PEFT's lora_alpha = alpha · r, which
// PEFT turns back into the same s; its per-input-column magnitude has no PEFT equivalent: it is
// marked with an "adaptgrad_magnitude_axis" key and saved in the tutorial's shape (1, in), which
// PEFT refuses to load (its magnitude has shape (out)).
void save_adapter(const Module& model, const LoraConfig& config, const std::string& folder,
                  const std::string& base_model_name_or_path, const std::string& task_type = "");

// Reads adapter_config.json into a LoraConfig (errors name the file and the key).
LoraConfig read_adapter_config(const std::string& folder);

// Applies the adapter described in `folder` to `model` (apply_lora) and loads its tensors.
// Every tensor in the file must match a parameter of the adapted model by name and shape, and
// every trainable parameter (adapter tensors, modules_to_save) must be in the file. The weight
// each adapted layer makes (W + s·B A, DoRA's m/n ⊙ (W + s·B A)) must be finite: finite tensors
// can overflow float32 there.
LoraConfig load_adapter(Module& model, const std::string& folder, std::ostream* notices = nullptr);

}  // namespace ag::nn
