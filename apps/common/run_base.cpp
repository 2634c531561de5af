#include "apps/common/run_base.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/io/read_file.h"
#include "models/config.h"

namespace fs = std::filesystem;

namespace ag::apps {

std::string find_adapter_base(const std::string& adapter_dir, const std::string& run_dir,
                              const std::string& model_override) {
  if (!model_override.empty()) return model_override;
  if (!run_dir.empty() && fs::exists(fs::path(run_dir) / "base-model" / "model.safetensors"))
    return (fs::path(run_dir) / "base-model").string();
  const fs::path file = fs::path(adapter_dir) / "adapter_config.json";
  const nlohmann::json config =
      nlohmann::json::parse(read_file(file.string(), kSettingsFile), nullptr, false);
  if (!config.is_object()) throw Error(file.string() + ": not valid JSON");
  const auto found = config.find("base_model_name_or_path");
  const std::string base =
      found != config.end() && found->is_string() ? found->get<std::string>() : "";
  if (base.empty())
    throw Error(file.string() + ": no base_model_name_or_path; pass --model BASE_FOLDER");
  if (!fs::is_directory(base) && !models::is_preset(base))
    throw Error(file.string() + ": base_model_name_or_path " + base + ": no such folder" +
                (fs::path(base).is_relative() ? " (from this directory)" : "") +
                "; pass --model BASE_FOLDER");
  return base;
}

}  // namespace ag::apps
