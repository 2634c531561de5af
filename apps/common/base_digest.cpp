#include "apps/common/base_digest.h"

#include <filesystem>

#include "core/errors.h"
#include "core/io/file_digest.h"
#include "core/io/read_file.h"

namespace fs = std::filesystem;

namespace ag::apps {
namespace {

// config.json as the numbers see it: parsed, names-only keys dropped, dumped with sorted keys,
// so that re-saving or re-labelling a config is the same base. Not JSON: its bytes as they are
// (the model loader reports what is wrong with it).
std::string canonical_config(const std::string& path) {
  const std::string text = read_file(path, kSettingsFile);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return text;
  for (const char* key :
       {"_name_or_path", "transformers_version", "architectures", "id2label", "label2id"})
    j.erase(key);
  return j.dump();
}

// "" when `settings` has no string at `key`; an error naming `record` for another type.
std::string recorded(const nlohmann::json& settings, const char* key, const std::string& record) {
  if (!settings.contains(key)) return "";
  if (!settings[key].is_string())
    throw Error(record + ": \"" + std::string(key) + "\" is not a string");
  return settings[key].get<std::string>();
}

}  // namespace

BaseDigests base_digests(const std::string& folder) {
  const fs::path weights = fs::path(folder) / "model.safetensors";
  const fs::path config = fs::path(folder) / "config.json";
  if (!fs::is_directory(folder) || !fs::exists(weights)) return {};
  return {
      fnv1a64_digest_text(fnv1a64_file(weights.string())),
      fs::exists(config) ? fnv1a64_digest_text(fnv1a64(canonical_config(config.string()))) : ""};
}

void record_base_digests(nlohmann::json& settings, const BaseDigests& digests) {
  if (!digests.weights.empty()) settings[kBaseDigestKey] = digests.weights;
  if (!digests.config.empty()) settings[kBaseConfigDigestKey] = digests.config;
}

void check_base_digest(const std::string& run_dir, const std::string& base) {
  const fs::path record = fs::path(run_dir) / "train_config.json";
  if (run_dir.empty() || !fs::exists(record)) return;
  const nlohmann::json settings =
      nlohmann::json::parse(read_file(record.string(), kSettingsFile), nullptr, false);
  if (!settings.is_object()) return;
  const std::string weights = recorded(settings, kBaseDigestKey, record.string());
  const std::string config = recorded(settings, kBaseConfigDigestKey, record.string());
  if (weights.empty() && config.empty()) return;
  const BaseDigests found = base_digests(base);
  const auto refuse = [&](const std::string& file, const std::string& now,
                          const std::string& then) {
    throw Error("base model " + base + " (" + file + " " + (now.empty() ? "missing" : now) +
                ") is not the base the adapter in " + run_dir + " was trained on (" + then +
                " in " + record.string() + "): pass --model with that base");
  };
  if (!weights.empty() && found.weights != weights)
    refuse("model.safetensors", found.weights, weights);
  if (!config.empty() && found.config != config) refuse("config.json", found.config, config);
}

}  // namespace ag::apps
