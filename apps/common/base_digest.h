// The digests of a base model, recorded in a run's train_config.json and checked by every
// reader of the run, so that an adapter is only ever applied to the base it was trained on,
// whatever path leads to that base:
//   "base-model-digest":  "fnv1a-64:<hex>" over the bytes of the base's model.safetensors
//   "base-config-digest": "fnv1a-64:<hex>" over its config.json, canonical (keys sorted, no
//                         spacing) and without the keys that name things rather than change
//                         numbers (_name_or_path, transformers_version, architectures,
//                         id2label, label2id): "hidden_act": "relu" is another base.
// Runs written before the config digest existed record the weights alone: they are checked on
// what they recorded.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ag::apps {

inline constexpr const char* kBaseDigestKey = "base-model-digest";
inline constexpr const char* kBaseConfigDigestKey = "base-config-digest";

struct BaseDigests {
  std::string weights;  // "" when the base is not a folder with weights (a preset, a
  std::string config;   // config.json file: random initialisation)
};

BaseDigests base_digests(const std::string& folder);

// Writes the digests into `settings` (train_config.json form); nothing when they are empty.
void record_base_digests(nlohmann::json& settings, const BaseDigests& digests);

// When run_dir/train_config.json records base digests, checks that `base` (the folder about
// to be loaded) has them; throws ag::Error naming the file that differs and both digests
// otherwise. No record: nothing to check.
void check_base_digest(const std::string& run_dir, const std::string& base);

}  // namespace ag::apps
