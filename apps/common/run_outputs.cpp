#include "apps/common/run_outputs.h"

#include <filesystem>

#include "core/io/atomic_file.h"
#include "models/pretrained.h"
#include "nn/adapter_io.h"

namespace fs = std::filesystem;

namespace ag::apps {

void save_trained_weights(const std::string& out_dir, const std::string& base_model,
                          const models::SequenceClassifier& model,
                          const std::optional<nn::LoraConfig>& lora) {
  if (lora)
    nn::save_adapter(model, *lora, out_dir, base_model, "SEQ_CLS");
  else
    models::save_pretrained(model, out_dir);
}

const std::vector<std::string>& run_file_names() {
  static const std::vector<std::string> names = {
      "adapter_model.safetensors",
      "adapter_config.json",  // the adapter first: a run without
      "model.safetensors",
      "config.json",  // it is visibly incomplete
      "summary.json",
      "metrics.jsonl",
      "data_order.jsonl",
      "curves.svg",
      "labels.json",
      "train_config.json",
      "vocab.txt",
      "tokenizer_config.json",
      "tokenizer.json",
      "special_tokens_map.json",
      "checkpoint/checkpoint.safetensors",
      "checkpoint/train_config.json",
      "base-model/model.safetensors",
      "base-model/config.json"};
  return names;
}

void write_json_file(const std::string& path, const nlohmann::json& j) {
  write_text_file_atomically(path, j.dump(2) + "\n");
}

}  // namespace ag::apps
