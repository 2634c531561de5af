#include "nn/adapter_io.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>

#include "core/errors.h"
#include "core/io/atomic_file.h"
#include "core/io/json_util.h"
#include "core/io/read_file.h"
#include "core/io/safetensors.h"
#include "nn/peft_config_fields.h"

namespace ag::nn {
namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

static const std::string kPrefix = "base_model.model.";

// A float as the shortest decimal that reads back as the same float (0.05f -> 0.05, not
// 0.05000000074505806): the value the user gave, as PEFT writes it.
static json float_as_written(float value) {
  char text[32];
  auto end = std::to_chars(text, text + sizeof text, value).ptr;
  return json::parse(std::string(text, end));
}

template <typename Value>
static ordered_json pattern_json(const std::vector<std::pair<std::string, Value>>& pattern) {
  ordered_json j = ordered_json::object();
  for (auto& [key, value] : pattern) {
    if constexpr (std::is_same_v<Value, float>)
      j[key] = float_as_written(value);
    else
      j[key] = value;
  }
  return j;
}

// The trainable tensors PEFT saves: adapter weights and the modules_to_save.
static std::vector<NamedTensor> adapter_tensors(const Module& model) {
  return model.named_trainable_parameters();
}

// The tutorial's per-input-column DoRA magnitude (InputAxisDoraLinear) is saved with its own
// shape, (1, in) (weight.norm(dim=0, keepdim=True)), never PEFT's (out): on a square layer a
// vector of length in would load in PEFT as an output-axis magnitude and give other answers,
// while a (1, in) tensor makes PEFT refuse the file ("size mismatch for ...lora_magnitude_vector").
static bool is_input_axis_magnitude(const std::string& name, const LoraConfig& config) {
  static const std::string kMagnitude = "lora_magnitude_vector";
  return config.use_dora && config.magnitude_axis == MagnitudeAxis::kInput &&
         name.size() >= kMagnitude.size() &&
         name.compare(name.size() - kMagnitude.size(), kMagnitude.size(), kMagnitude) == 0;
}

void save_adapter(const Module& model, const LoraConfig& config, const std::string& folder,
                  const std::string& base_model, const std::string& task_type) {
  fs::create_directories(folder);
  std::vector<safetensors::NamedBuffer> buffers;
  for (auto& [name, t] : adapter_tensors(model)) {
    const Shape shape = is_input_axis_magnitude(name, config) ? Shape{1, t.numel()} : t.shape();
    buffers.push_back({kPrefix + name, safetensors::DType::F32, shape, t.data(),
                       uint64_t(t.numel()) * sizeof(float)});
  }
  // PEFT's scaling is lora_alpha / r (or / √r); the tutorial's s = alpha maps to alpha · r.
  const bool seed_scaling = config.scaling == LoraScaling::kAlpha;
  if (seed_scaling && !(config.rank_pattern.empty() && config.alpha_pattern.empty()))
    throw Error(
        "save_adapter: scaling s = alpha (--scaling alpha) cannot be saved with rank or "
        "alpha patterns");
  // In insertion order, so that the patterns keep theirs: the first matching key wins.
  ordered_json j = {
      {"peft_type", "LORA"},
      {"task_type", task_type.empty() ? ordered_json(nullptr) : ordered_json(task_type)},
      {"base_model_name_or_path", base_model},
      {"r", config.r},
      {"lora_alpha",
       float_as_written(seed_scaling ? config.alpha * float(config.r) : config.alpha)},
      {"lora_dropout", float_as_written(config.dropout)},
      {"target_modules", config.targets},
      {"use_dora", config.use_dora},
      {"use_rslora", config.scaling == LoraScaling::kAlphaOverSqrtR},
      {"modules_to_save", config.modules_to_save.empty() ? ordered_json(nullptr)
                                                         : ordered_json(config.modules_to_save)},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"init_lora_weights", true},
      {"inference_mode", true},
      {"layers_to_transform", nullptr},
      {"layers_pattern", nullptr},
      {"rank_pattern", pattern_json(config.rank_pattern)},
      {"alpha_pattern", pattern_json(config.alpha_pattern)},
      {"lora_bias", false},
      {"revision", nullptr},
  };
  if (config.use_dora && config.magnitude_axis == MagnitudeAxis::kInput)
    j["adaptgrad_magnitude_axis"] = "input";
  safetensors::save((fs::path(folder) / "adapter_model.safetensors").string(), buffers,
                    {{"format", "pt"}});
  write_text_file_atomically((fs::path(folder) / "adapter_config.json").string(), j.dump(2) + "\n");
}

// rank_pattern or alpha_pattern as an object (absent or null: empty).
static ordered_json pattern_object(const ordered_json& j, const char* key,
                                   const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return ordered_json::object();
  if (!j[key].is_object())
    throw FormatError(path, std::string("key \"") + key + "\"",
                      "must be an object mapping module-name patterns to values");
  return j[key];
}

LoraConfig read_adapter_config(const std::string& folder) {
  const std::string path = (fs::path(folder) / "adapter_config.json").string();
  if (!fs::exists(path))
    throw FormatError(path, "file", "not found (is " + folder + " a PEFT adapter folder?)");
  const std::string text = read_file(path, kSettingsFile);
  const json j = parse_json(text, path);
  if (!j.is_object()) throw FormatError(path, "top level", "expected a JSON object");
  auto need = [&](const char* key) -> const json& {
    if (!j.contains(key) || j[key].is_null())
      throw FormatError(path, std::string("key \"") + key + "\"", "is missing");
    return j[key];
  };
  check_peft_fields(j, path);
  LoraConfig c;
  try {
    if (j.value("peft_type", "LORA") != "LORA")
      throw FormatError(path, "key \"peft_type\"", "only LORA adapters are supported");
    c.r = json_integer(need("r"), path, "r", -(int64_t(1) << 20),
                       int64_t(1) << 20);  // sign: validate()
    c.alpha = float(json_number(need("lora_alpha"), path, "lora_alpha"));
    if (j.contains("lora_dropout") && !j["lora_dropout"].is_null())
      c.dropout = float(json_number(j["lora_dropout"], path, "lora_dropout"));
    const json& targets = need("target_modules");
    if (!targets.is_array())
      throw FormatError(path, "key \"target_modules\"",
                        "must be a list of module names (a regex string is not supported)");
    c.targets = targets.get<std::vector<std::string>>();
    c.use_dora = j.value("use_dora", false);
    c.scaling =
        j.value("use_rslora", false) ? LoraScaling::kAlphaOverSqrtR : LoraScaling::kAlphaOverR;
    if (j.contains("modules_to_save") && !j["modules_to_save"].is_null())
      c.modules_to_save = j["modules_to_save"].get<std::vector<std::string>>();
    if (j.value("adaptgrad_magnitude_axis", "output") == "input")
      c.magnitude_axis = MagnitudeAxis::kInput;
    // The patterns keep the file's key order: PEFT uses the first key that matches.
    const auto ordered = ordered_json::parse(text);
    const auto rank_pattern = pattern_object(ordered, "rank_pattern", path);
    for (auto& [key, v] : rank_pattern.items())
      c.rank_pattern.emplace_back(
          key, json_integer(json(v), path, "rank_pattern." + key, 1, int64_t(1) << 20));
    const auto alpha_pattern = pattern_object(ordered, "alpha_pattern", path);
    for (auto& [key, v] : alpha_pattern.items())
      c.alpha_pattern.emplace_back(key, float(json_number(json(v), path, "alpha_pattern." + key)));
  } catch (const json::exception& e) {
    throw FormatError(path, "value", std::string("has the wrong type: ") + e.what());
  }
  try {
    c.validate();
  } catch (const Error& e) {
    throw FormatError(path, "settings", e.what());
  }
  return c;
}

// Finite tensors can still make a weight that is not: factors of 1e20 give B A = 1e40 · r,
// beyond float32 (DoRA: or a norm of 0). The forward pass would then turn Inf into NaN and the
// kernels' NaN into one fixed answer for every input, so each adapted layer's merged weight is
// checked once, at load.
static void check_merged_weights_finite(Module& model, const std::string& path) {
  for (auto& [name, layer] : lora_layers(model)) {
    const Tensor merged = layer->merged_weight();
    const float* w = merged.data();
    const float* bad =
        std::find_if(w, w + merged.numel(), [](float v) { return !std::isfinite(v); });
    if (bad == w + merged.numel()) continue;
    throw FormatError(path, "tensors \"" + kPrefix + name + ".lora_*\"",
                      std::string("are finite, but the weight they make (") +
                          (layer->config().use_dora ? "m/n * (W + s*B*A)" : "W + s*B*A") +
                          ") holds " + (std::isnan(*bad) ? "NaN" : "Inf") + " at element " +
                          std::to_string(bad - w) +
                          ": float32 overflows, every input would get the same answer");
  }
}

LoraConfig load_adapter(Module& model, const std::string& folder, std::ostream* notices) {
  LoraConfig config = read_adapter_config(folder);
  const std::string path = (fs::path(folder) / "adapter_model.safetensors").string();
  safetensors::File file = safetensors::File::open(path);
  // PEFT lists generic head names (e.g. "classifier", "score"); keep the ones this model has.
  std::vector<std::string> saved = config.modules_to_save;
  config.modules_to_save.clear();
  for (auto& target : saved) {
    bool found = false;
    for (auto& [name, m] : model.named_modules())
      found = found || (!name.empty() && matches_target(name, target));
    if (found)
      config.modules_to_save.push_back(target);
    else if (notices)
      *notices << "notice: " << folder << ": modules_to_save '" << target
               << "' is not in this model\n";
  }
  apply_lora(model, config);
  std::map<std::string, Tensor> params;
  for (auto& [name, t] : model.named_parameters()) params.emplace(name, t);
  std::set<std::string> loaded;
  for (auto& info : file.tensors()) {
    if (info.name.rfind(kPrefix, 0) != 0)
      throw FormatError(path, "tensor \"" + info.name + "\"",
                        "does not start with \"" + kPrefix + "\"");
    std::string name = info.name.substr(kPrefix.size());
    auto it = params.find(name);
    if (it == params.end())
      throw FormatError(path, "tensor \"" + info.name + "\"",
                        "matches no parameter of the adapted model (wrong base model?)");
    const bool saved_as_row =
        is_input_axis_magnitude(name, config) && info.shape == Shape{1, it->second.numel()};
    if (it->second.shape() != info.shape && !saved_as_row)
      throw ShapeError(path + ": tensor \"" + info.name + "\" has shape " + to_string(info.shape) +
                       ", the model expects " + to_string(it->second.shape()));
    it->second.copy_(file.read_finite_f32(info.name));
    it->second.set_requires_grad(true);  // a saved head module (PEFT's modules_to_save)
    loaded.insert(name);
  }
  // Every trainable parameter must come from the file: the adapter's own tensors, and the
  // modules_to_save (a head left out would keep the base's fresh random initialisation).
  std::set<std::string> missing_saved_modules;
  for (auto& [name, t] : model.named_trainable_parameters()) {
    if (loaded.count(name)) continue;
    if (name.find("lora_") != std::string::npos)
      throw FormatError(path, "adapter tensors", "\"" + kPrefix + name + "\" is missing");
    missing_saved_modules.insert("\"" + kPrefix + name + "\"");
  }
  if (!missing_saved_modules.empty()) {
    std::string keys;
    for (auto& key : missing_saved_modules) keys += (keys.empty() ? "" : ", ") + key;
    throw FormatError(path, "modules_to_save",
                      "adapter_config.json lists them, but the file lacks " + keys);
  }
  check_merged_weights_finite(model, path);
  return config;
}

}  // namespace ag::nn
