// What a finished run leaves in its folder (--out), every file written atomically:
//   adapter_config.json + adapter_model.safetensors   lora/dora: the adapter in PEFT's format
//   config.json + model.safetensors                    full/head: the whole model
//   base-model/                                        a randomly initialised base (lora/dora)
//   labels.json, vocab.txt, tokenizer_config.json      so that predict needs only this folder
//   train_config.json   the settings      metrics.jsonl  every logged value
//   curves.svg          loss and accuracy curves         summary.json  results, time, memory
//   checkpoint/         the last resumable checkpoint
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/common/train_config.h"
#include "models/encoder.h"
#include "nn/lora.h"

namespace ag::apps {

// The trained weights: the PEFT adapter (lora/dora) or the whole model (full/head).
void save_trained_weights(const std::string& out_dir, const TrainConfig& config,
                          const models::SequenceClassifier& model,
                          const std::optional<nn::LoraConfig>& lora);

void write_json_file(const std::string& path, const nlohmann::json& j);

}  // namespace ag::apps
