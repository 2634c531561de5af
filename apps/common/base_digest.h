// The digest of a base model's weights, recorded in a run's train_config.json
// ("base-model-digest": "fnv1a-64:<hex>" over the bytes of the base's model.safetensors) and
// checked by every reader of the run, so that an adapter is only ever applied to the base it
// was trained on, whatever path leads to that base.
#pragma once

#include <string>

namespace ag::apps {

inline constexpr const char* kBaseDigestKey = "base-model-digest";

// "fnv1a-64:<hex>" of folder/model.safetensors; "" when `folder` is not a folder with weights
// (a preset or a config.json file: random initialisation).
std::string base_weights_digest(const std::string& folder);

// When run_dir/train_config.json records a base digest, checks that `base` (the folder about
// to be loaded) has it; throws ag::Error naming both otherwise. No record: nothing to check.
void check_base_digest(const std::string& run_dir, const std::string& base);

}  // namespace ag::apps
