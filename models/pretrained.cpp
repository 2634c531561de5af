#include "models/pretrained.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <ostream>
#include <set>

#include "core/errors.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "models/classifier_factory.h"
#include "nn/layers.h"

namespace ag::models {
namespace fs = std::filesystem;

static bool starts_with(const std::string& s, const std::string& p) {
  return s.compare(0, p.size(), p) == 0;
}
static bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// The checkpoint keys that may hold parameter `name`, most specific first.
static std::vector<std::string> candidate_keys(const std::string& name, const std::string& prefix) {
  std::vector<std::string> keys{name};
  if (starts_with(name, prefix + ".")) keys.push_back(name.substr(prefix.size() + 1));
  // Old BERT checkpoints call LayerNorm's weight and bias gamma and beta.
  const size_t n = keys.size();
  for (size_t i = 0; i < n; ++i) {
    if (ends_with(keys[i], "LayerNorm.weight"))
      keys.push_back(keys[i].substr(0, keys[i].size() - 6) + "gamma");
    if (ends_with(keys[i], "LayerNorm.bias"))
      keys.push_back(keys[i].substr(0, keys[i].size() - 4) + "beta");
  }
  return keys;
}

void load_weights(SequenceClassifier& model, const std::string& path, std::ostream* notices) {
  safetensors::File file = safetensors::File::open(path);
  std::set<std::string> used;
  std::vector<std::string> fresh, missing;
  auto in_head = [&](const std::string& name) {
    for (auto& h : model.head_modules())
      if (starts_with(name, h + ".")) return true;
    return false;
  };
  for (auto& [name, param] : model.named_parameters()) {
    std::string key;
    for (auto& k : candidate_keys(name, model.base_prefix()))
      if (file.contains(k)) {
        key = k;
        break;
      }
    if (key.empty()) {
      (in_head(name) ? fresh : missing).push_back(name);
      continue;
    }
    const auto& info = file.info(key);
    if (info.shape != param.shape())
      throw ShapeError(path + ": tensor \"" + key + "\" has shape " + to_string(info.shape) +
                       ", the model (" + model.config().model_type + ", config.json) expects " +
                       to_string(param.shape()) + " for " + name);
    param.copy_(file.read_finite_f32(key));
    used.insert(key);
  }
  if (!missing.empty()) {
    std::string list;
    for (size_t i = 0; i < missing.size() && i < 5; ++i) list += (i ? ", " : "") + missing[i];
    if (missing.size() > 5) list += ", ... (" + std::to_string(missing.size()) + " in all)";
    throw FormatError(path, "missing tensors", list);
  }
  // A head the checkpoint lacks starts as transformers' _init_weights would make it.
  for (auto& name : fresh) {
    Tensor p;
    for (auto& [n, t] : model.named_parameters())
      if (n == name) p = t;
    if (ends_with(name, ".bias"))
      p.fill_(0.0f);
    else
      nn::init_normal(p, model.config().initializer_range);
  }
  if (notices && !fresh.empty()) {
    *notices << "notice: " << path << " has no classification head; newly initialised:";
    for (auto& n : fresh) *notices << " " << n;
    *notices << "\n";
  }
  std::vector<std::string> ignored;
  for (auto& t : file.tensors())
    if (!used.count(t.name) && !ends_with(t.name, "position_ids")) ignored.push_back(t.name);
  if (notices && !ignored.empty()) {
    *notices << "notice: " << path << ": " << ignored.size()
             << " tensors not used by this model (e.g. " << ignored.front() << ")\n";
  }
}

void check_fits_in_memory(const EncoderConfig& config, const std::string& name) {
  const double bytes = 4.0 * estimated_parameters(config);
  const double memory = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
  if (memory > 0 && bytes > memory) {
    char text[160];
    std::snprintf(text, sizeof text,
                  "describe %.3g GiB of float32 weights, more than this machine's %.3g GiB of "
                  "memory",
                  bytes / double(1 << 30), memory / double(1 << 30));
    throw FormatError(name, "sizes", text);
  }
}

std::shared_ptr<SequenceClassifier> from_pretrained(const std::string& name,
                                                    const LoadOptions& options) {
  // A folder is a checkpoint; a preset name or a config.json file is shapes only (random init,
  // as transformers' from_config).
  const bool preset = is_preset(name) && !fs::is_directory(name);
  const bool config_file = !preset && fs::is_regular_file(name);
  EncoderConfig config = preset        ? preset_config(name)
                         : config_file ? load_config(name)
                                       : load_config((fs::path(name) / "config.json").string());
  if (options.num_labels) {
    const int64_t labels = *options.num_labels;
    if (labels <= 0 || labels > (int64_t(1) << 24))
      throw Error("num_labels " + std::to_string(labels) + " is not in 1..2^24");
    if (labels != config.num_labels) config.id2label.clear();
    config.num_labels = labels;
    check_model_size(config, name);  // before anything is allocated for the head
    for (int64_t i = int64_t(config.id2label.size()); i < config.num_labels; ++i)
      config.id2label.push_back("LABEL_" + std::to_string(i));
  }
  std::shared_ptr<SequenceClassifier> model;
  if (preset || config_file || options.skip_weights) {
    std::optional<nn::SkipInit> skip;
    if (options.skip_weights) skip.emplace();
    model = make_classifier(config);
    return model;
  }
  check_fits_in_memory(config, name);
  const fs::path weights = fs::path(name) / "model.safetensors";
  if (!fs::exists(weights))
    throw FormatError(name, "model.safetensors",
                      "not found (a Hugging Face folder needs config.json and model.safetensors)");
  {
    nn::SkipInit skip;  // every value is about to be overwritten by the checkpoint
    model = make_classifier(config);
  }
  load_weights(*model, weights.string(), options.notices);
  return model;
}

void save_pretrained(const SequenceClassifier& model, const std::string& folder) {
  fs::create_directories(folder);
  std::vector<safetensors::NamedBuffer> buffers;
  for (auto& [name, t] : model.named_parameters())
    buffers.push_back(
        {name, safetensors::DType::F32, t.shape(), t.data(), uint64_t(t.numel()) * sizeof(float)});
  safetensors::save((fs::path(folder) / "model.safetensors").string(), buffers, {{"format", "pt"}});
  write_text_file_atomically((fs::path(folder) / "config.json").string(),
                             config_to_json_text(model.config()));
}

}  // namespace ag::models
