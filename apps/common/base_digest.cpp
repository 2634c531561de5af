#include "apps/common/base_digest.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "apps/common/app_util.h"
#include "core/errors.h"
#include "core/io/file_digest.h"
#include "core/io/read_file.h"

namespace fs = std::filesystem;

namespace ag::apps {

std::string base_weights_digest(const std::string& folder) {
  const fs::path weights = fs::path(folder) / "model.safetensors";
  if (!fs::is_directory(folder) || !fs::exists(weights)) return "";
  return fnv1a64_digest_text(fnv1a64_file(weights.string()));
}

void check_base_digest(const std::string& run_dir, const std::string& base) {
  const fs::path record = fs::path(run_dir) / "train_config.json";
  if (run_dir.empty() || !fs::exists(record)) return;
  const nlohmann::json settings =
      nlohmann::json::parse(read_file(record.string(), kSettingsFile), nullptr, false);
  if (!settings.is_object() || !settings.contains(kBaseDigestKey)) return;
  const auto& recorded = settings[kBaseDigestKey];
  if (!recorded.is_string())
    throw Error(record.string() + ": \"" + kBaseDigestKey + "\" is not a string");
  const std::string found = base_weights_digest(base);
  if (found != recorded.get<std::string>())
    throw Error("base model " + base + " (" + (found.empty() ? "no weights" : found) +
                ") is not the base the adapter in " + run_dir + " was trained on (" +
                recorded.get<std::string>() + " in " + record.string() +
                "): pass --model with that base");
}

}  // namespace ag::apps
