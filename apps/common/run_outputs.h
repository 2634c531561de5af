// What a finished run leaves in its folder (--out), every file written atomically:
//   adapter_config.json + adapter_model.safetensors   lora/dora: the adapter in PEFT's format
//   config.json + model.safetensors                    full/head: the whole model
//   base-model/                                        a randomly initialised base (lora/dora)
//   labels.json, vocab.txt, tokenizer_config.json      so that predict needs only this folder
//   train_config.json   the settings      metrics.jsonl  every logged value
//   curves.svg          loss and accuracy curves         summary.json  results, time, memory
//   checkpoint/         the last resumable checkpoint
//   train.lock          held (flock) by the train process writing the folder; holds its PID
// train_config.json also records the digests of the base's weights and config.json (lora/dora:
// the base the adapter was trained on; apps/common/base_digest.h) and of the tokenizer files,
// written before the adapter, and the settings changed on --resume.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/common/train_config.h"
#include "models/encoder.h"
#include "nn/lora.h"

namespace ag::apps {

// The trained weights: the PEFT adapter (lora/dora) or the whole model (full/head).
// `base_model` goes into adapter_config.json's base_model_name_or_path: an absolute path, so
// that PEFT and predict find the base from any directory.
void save_trained_weights(const std::string& out_dir, const std::string& base_model,
                          const models::SequenceClassifier& model,
                          const std::optional<nn::LoraConfig>& lora);

// Every file a run writes, relative to the run folder (sub-folders' files as "checkpoint/...";
// the lock file excluded): what --overwrite removes, and nothing else.
const std::vector<std::string>& run_file_names();

void write_json_file(const std::string& path, const nlohmann::json& j);

}  // namespace ag::apps
