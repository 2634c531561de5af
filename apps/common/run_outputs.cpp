#include "apps/common/run_outputs.h"

#include <filesystem>

#include "core/atomic_file.h"
#include "models/pretrained.h"
#include "nn/adapter_io.h"

namespace fs = std::filesystem;

namespace ag::apps {

void save_trained_weights(const std::string& out_dir, const TrainConfig& config,
                          const models::SequenceClassifier& model,
                          const std::optional<nn::LoraConfig>& lora) {
  if (lora)
    nn::save_adapter(model, *lora, out_dir, config.model, "SEQ_CLS");
  else
    models::save_pretrained(model, out_dir);
}

void write_json_file(const std::string& path, const nlohmann::json& j) {
  write_text_file_atomically(path, j.dump(2) + "\n");
}

}  // namespace ag::apps
