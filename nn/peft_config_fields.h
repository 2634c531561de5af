// How adaptgrad treats every field of PEFT's LoraConfig that adapter_config.json may hold.
//
// A field is either implemented (read into nn::LoraConfig), refused unless it has a value that
// leaves the math as plain LoRA/DoRA (null, false, empty, or a listed value), or ignored
// because it never changes the result here (names, versions, initialisation the saved tensors
// replace). tests/fixtures/peft/lora_config_fields.json lists PEFT's fields; a test checks that
// each one is classified here and that the refused ones are refused.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ag::nn {

enum class PeftFieldUse { kImplemented, kRefusedUnlessNeutral, kIgnored };

struct PeftField {
  std::string name;
  PeftFieldUse use;
  std::vector<nlohmann::json> also_neutral;  // accepted values besides null/false/empty
};

// Every LoraConfig field of PEFT 0.21.2, plus adaptgrad's own "adaptgrad_magnitude_axis".
const std::vector<PeftField>& peft_lora_fields();

// Throws FormatError naming `path` and the key for a refused field with a value that changes
// the math, and for a key PEFT does not know that holds anything but null/false/empty.
void check_peft_fields(const nlohmann::json& config, const std::string& path);

}  // namespace ag::nn
