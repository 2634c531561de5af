#include "apps/common/resume_check.h"

#include <algorithm>
#include <set>

#include "apps/common/base_digest.h"
#include "core/errors.h"

namespace ag::apps {
namespace {

// Settings that leave the trained weights unchanged, and the records that are not settings.
const std::set<std::string>& not_compared() {
  static const std::set<std::string> keys = {"train",
                                             "validation",
                                             "test",
                                             "data",
                                             "threads",
                                             "out",
                                             "quiet-params",
                                             "log-every",
                                             "checkpoint-every",
                                             "save-data-order",
                                             kResumeChangesKey,
                                             kBaseDigestKey};
  return keys;
}

std::string value_text(const nlohmann::json& j) {
  return j.is_null() ? "(unset)" : j.dump();
}

}  // namespace

nlohmann::json check_resume_settings(const nlohmann::json& now, const nlohmann::json& saved,
                                     const std::vector<std::string>& allowed, int64_t step,
                                     const std::string& checkpoint) {
  auto compared = [](const std::string& key) { return !not_compared().count(key); };
  for (const std::string& name : allowed)
    if (!now.contains(name) || !compared(name))
      throw Error("--allow-change " + name + ": not a setting that resuming compares");
  std::set<std::string> changed;
  for (auto& [key, value] : now.items())
    if (compared(key) && saved.value(key, nlohmann::json()) != value) changed.insert(key);
  // The base weights are part of --model: the same path may now hold other weights.
  const auto digest = [](const nlohmann::json& j) { return j.value(kBaseDigestKey, ""); };
  const bool other_base = !digest(saved).empty() && digest(saved) != digest(now);
  if (other_base) changed.insert("model");

  nlohmann::json result = now;
  nlohmann::json record = saved.value(kResumeChangesKey, nlohmann::json::array());
  std::string refused;
  for (const std::string& key : changed) {
    // --model at the same path with other weights: the digests are the values that differ.
    const bool base_only = key == "model" && saved.value(key, nlohmann::json()) == now[key];
    const nlohmann::json from =
        base_only ? nlohmann::json(digest(saved)) : saved.value(key, nlohmann::json());
    const nlohmann::json to = base_only ? nlohmann::json(digest(now)) : now[key];
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      refused += std::string(refused.empty() ? "" : "; ") + "--" + key + " " + value_text(to) +
                 (base_only ? " (base weights)" : "") + " differs from the checkpoint's " +
                 value_text(from);
      continue;
    }
    record.push_back({{"step", step}, {"setting", key}, {"checkpoint", from}, {"now", to}});
  }
  if (!refused.empty())
    throw Error(checkpoint + ": " + refused +
                ": resuming with other settings changes the result; drop the flag, or pass "
                "--allow-change NAME[,NAME] to continue anyway (recorded in train_config.json)");
  if (!record.empty()) result[kResumeChangesKey] = record;
  return result;
}

}  // namespace ag::apps
