// Putting adapters into a model and taking them out: the layer a LoraConfig asks for
// (LoraLinear, nn/lora.h, or a DoRA layer, nn/dora.h) wrapped around each target Linear, as
// PEFT's get_peft_model does; merging them into the base weights; PEFT's target-name rule.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/layers.h"
#include "nn/lora.h"
#include "nn/module.h"

namespace ag::nn {

// The layer `config` asks for around `base`: LoraLinear, DoraLinear or InputAxisDoraLinear.
std::shared_ptr<LoraLinear> make_adapter(std::shared_ptr<Linear> base, const LoraConfig& config);

// The tutorial's procedure: freeze every parameter, then wrap each Linear whose dotted name is a
// target or ends with "." + target, then unfreeze modules_to_save. Returns the wrapped names.
// A target that matches no Linear is an error naming it.
std::vector<std::string> apply_lora(Module& model, const LoraConfig& config);

// Every LoraLinear (DoRA layers included) in the model, with its dotted name.
std::vector<std::pair<std::string, LoraLinear*>> lora_layers(Module& model);
void merge_adapters(Module& model);
void unmerge_adapters(Module& model);
// Replaces each LoraLinear by its base Linear with the adapter merged in (PEFT's
// merge_and_unload): the model has the original architecture and names again.
void merge_and_unload(Module& model);

// True when `name` equals `target` or ends with "." + target (PEFT's target_modules rule).
bool matches_target(const std::string& name, const std::string& target);

}  // namespace ag::nn
