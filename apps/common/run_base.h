// Which base model a trained adapter goes on, as PEFT's AutoPeftModel finds it: the adapter
// records its base in adapter_config.json's base_model_name_or_path (train writes it as an
// absolute path). predict and merge take a run folder alone, with --model as an override.
#pragma once

#include <string>

namespace ag::apps {

// The base for the adapter in `adapter_dir` (a run folder or a PEFT adapter folder):
//   `model_override` (--model) when given;
//   else <run_dir>/base-model, the random initialisation a run from a preset or a config.json
//   saved (when `run_dir` is given and holds one);
//   else adapter_config.json's base_model_name_or_path, which must be a folder or a preset.
// Throws ag::Error naming adapter_config.json when the recorded base is missing or not there.
// The caller checks the base's digest (check_base_digest) before loading it.
std::string find_adapter_base(const std::string& adapter_dir, const std::string& run_dir,
                              const std::string& model_override);

}  // namespace ag::apps
