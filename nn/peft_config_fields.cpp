#include "nn/peft_config_fields.h"

#include <algorithm>

#include "core/errors.h"

namespace ag::nn {
using nlohmann::json;

const std::vector<PeftField>& peft_lora_fields() {
  using U = PeftFieldUse;
  static const std::vector<PeftField> fields = {
      // Read into LoraConfig (a regex-string target_modules is refused by the reader).
      {"peft_type", U::kImplemented, {}},
      {"r", U::kImplemented, {}},
      {"lora_alpha", U::kImplemented, {}},
      {"lora_dropout", U::kImplemented, {}},
      {"target_modules", U::kImplemented, {}},
      {"use_rslora", U::kImplemented, {}},
      {"use_dora", U::kImplemented, {}},
      {"modules_to_save", U::kImplemented, {}},
      {"rank_pattern", U::kImplemented, {}},
      {"alpha_pattern", U::kImplemented, {}},
      {"adaptgrad_magnitude_axis", U::kImplemented, {}},
      // Change which layers are adapted, what an adapted layer computes, or the base weights.
      {"exclude_modules", U::kRefusedUnlessNeutral, {}},
      {"bias", U::kRefusedUnlessNeutral, {"none"}},
      // true/false/"gaussian"/"eva" only set the starting A and B, which the file replaces;
      // PiSSA, OLoRA, LoftQ, CorDA, MiCA, LoRA-GA and orthogonal init also rewrite the base.
      {"init_lora_weights", U::kRefusedUnlessNeutral, {true, "gaussian", "eva"}},
      {"layers_to_transform", U::kRefusedUnlessNeutral, {}},
      {"layers_pattern", U::kRefusedUnlessNeutral, {}},
      {"megatron_config", U::kRefusedUnlessNeutral, {}},
      {"trainable_token_indices", U::kRefusedUnlessNeutral, {}},
      {"loftq_config", U::kRefusedUnlessNeutral, {}},
      {"corda_config", U::kRefusedUnlessNeutral, {}},
      {"lora_ga_config", U::kRefusedUnlessNeutral, {}},
      {"velora_config", U::kRefusedUnlessNeutral, {}},
      {"alora_invocation_tokens", U::kRefusedUnlessNeutral, {}},
      {"use_qalora", U::kRefusedUnlessNeutral, {}},
      {"monteclora_config", U::kRefusedUnlessNeutral, {}},
      {"layer_replication", U::kRefusedUnlessNeutral, {}},
      {"lora_bias", U::kRefusedUnlessNeutral, {}},
      {"target_parameters", U::kRefusedUnlessNeutral, {}},
      {"use_bdlora", U::kRefusedUnlessNeutral, {}},
      {"arrow_config", U::kRefusedUnlessNeutral, {}},
      {"kasa_config", U::kRefusedUnlessNeutral, {}},
      // Never change the result here.
      {"task_type", U::kIgnored, {}},  // the head comes from modules_to_save
      {"auto_mapping", U::kIgnored, {}},
      {"peft_version", U::kIgnored, {}},
      {"base_model_name_or_path", U::kIgnored, {}},  // the apps decide the base
      {"revision", U::kIgnored, {}},
      {"inference_mode", U::kIgnored, {}},
      {"fan_in_fan_out", U::kIgnored, {}},  // Conv1D only: PEFT resets it for nn.Linear
      {"megatron_core", U::kIgnored, {}},   // only used with megatron_config
      {"eva_config", U::kIgnored, {}},      // initialisation only (its ranks are in rank_pattern)
      {"qalora_group_size", U::kIgnored, {}},    // only used with use_qalora
      {"runtime_config", U::kIgnored, {}},       // runtime options, never saved by PEFT
      {"ensure_weight_tying", U::kIgnored, {}},  // ties adapters of tied layers; none here
  };
  return fields;
}

// null, false, 0-length: the value PEFT uses for "this feature is off".
static bool is_off(const json& v) {
  return v.is_null() || (v.is_boolean() && !v.get<bool>()) ||
         ((v.is_array() || v.is_object() || v.is_string()) && v.empty());
}

void check_peft_fields(const json& config, const std::string& path) {
  const auto& fields = peft_lora_fields();
  for (auto& [key, value] : config.items()) {
    auto field = std::find_if(fields.begin(), fields.end(),
                              [&, &key = key](const PeftField& f) { return f.name == key; });
    const std::string where = "key \"" + key + "\"";
    if (field == fields.end()) {
      if (!is_off(value))
        throw FormatError(path, where,
                          "is not a LoraConfig field of PEFT 0.21.2 and may change the result; "
                          "adaptgrad refuses it (remove it if it is unset)");
      continue;
    }
    if (field->use != PeftFieldUse::kRefusedUnlessNeutral || is_off(value)) continue;
    const auto& ok = field->also_neutral;
    if (std::find(ok.begin(), ok.end(), value) != ok.end()) continue;
    throw FormatError(path, where,
                      value.dump() +
                          " changes the adapter's math and is not implemented by "
                          "adaptgrad; this adapter cannot be loaded here");
  }
}

}  // namespace ag::nn
