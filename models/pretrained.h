// Loading and saving Hugging Face model folders (config.json + model.safetensors).
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "models/encoder.h"

namespace ag::models {

struct LoadOptions {
  std::optional<int64_t> num_labels;  // overrides config.json (e.g. the dataset's label count)
  std::ostream* notices = nullptr;    // where one-line notices go (fresh head, ignored keys)
  bool skip_weights = false;          // shapes only: nothing is read or initialised
};

// Throws FormatError naming `name` when the weights of the model `config` describes (4 bytes a
// parameter) would not fit in this machine's memory: refused up front rather than failing in
// the middle of allocating them.
void check_fits_in_memory(const EncoderConfig& config, const std::string& name);

// `name` is a folder with config.json and model.safetensors, or a config.json file or a preset
// name (shapes only: random weights, as transformers' from_config).
std::shared_ptr<SequenceClassifier> from_pretrained(const std::string& name,
                                                    const LoadOptions& options = {});

// Copies every parameter of `model` from a safetensors file. Accepts the classifier's own keys
// ("distilbert.embeddings...") and a base model's keys without the prefix ("embeddings..."),
// and legacy LayerNorm names (gamma/beta). A missing head is initialised as transformers does
// (normal(0, initializer_range), zero bias) with a notice; any other missing tensor, or a
// tensor of the wrong shape, is an error naming the file and the key.
void load_weights(SequenceClassifier& model, const std::string& safetensors_path,
                  std::ostream* notices = nullptr);

// Writes config.json and model.safetensors (every parameter, F32) into `folder`, atomically.
void save_pretrained(const SequenceClassifier& model, const std::string& folder);

}  // namespace ag::models
