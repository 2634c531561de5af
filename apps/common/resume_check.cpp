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
                                             "list-params",
                                             "log-every",
                                             "checkpoint-every",
                                             "save-data-order",
                                             kResumeChangesKey,
                                             kBaseDigestKey,
                                             kBaseConfigDigestKey,
                                             kTokenizerDigestKey};
  return keys;
}

// The files behind a setting, recorded by digest: the same path may now hold other contents.
struct ContentRecord {
  const char* setting;  // "model"
  const char* key;      // the record in train_config.json
  const char* file;     // the file it digests; nullptr: the record maps file names to digests
};

const std::vector<ContentRecord>& content_records() {
  static const std::vector<ContentRecord> records = {
      {"model", kBaseDigestKey, "model.safetensors"},
      {"model", kBaseConfigDigestKey, "config.json"},
      {"tokenizer", kTokenizerDigestKey, nullptr},
  };
  return records;
}

std::string value_text(const nlohmann::json& j) {
  if (j.is_null()) return "(unset)";
  if (j == "") return "(default)";
  return j.dump();
}

// "vocab.txt fnv1a-64:... differs from the checkpoint's fnv1a-64:..." for every file whose
// recorded digest changed; "" when none did. A record the checkpoint lacks (an older run) is
// not compared.
std::string changed_contents(const std::string& setting, const nlohmann::json& now,
                             const nlohmann::json& saved) {
  std::string text;
  const auto differ = [&](const std::string& file, const nlohmann::json& to,
                          const nlohmann::json& from) {
    if (to == from) return;
    text += std::string(text.empty() ? "" : ", ") + file + " " +
            (to.is_string() ? to.get<std::string>() : "missing") +
            " differs from the checkpoint's " +
            (from.is_string() ? from.get<std::string>() : "(none)");
  };
  for (const ContentRecord& r : content_records()) {
    if (setting != r.setting || !saved.contains(r.key)) continue;
    const nlohmann::json& from = saved[r.key];
    const nlohmann::json to = now.value(r.key, nlohmann::json());
    if (r.file) {
      differ(r.file, to, from);
      continue;
    }
    std::set<std::string> files;  // a file added or removed is a change too
    for (const auto* record : {&from, &to})
      if (record->is_object())
        for (auto& [file, digest] : record->items()) files.insert(file);
    for (const std::string& file : files)
      differ(file, to.is_object() ? to.value(file, nlohmann::json()) : nlohmann::json(),
             from.is_object() ? from.value(file, nlohmann::json()) : nlohmann::json());
  }
  return text;
}

// The records of `setting` in `settings`, for the "resume-changes" entry.
nlohmann::json content_of(const std::string& setting, const nlohmann::json& settings) {
  nlohmann::json out = nlohmann::json::object();
  for (const ContentRecord& r : content_records())
    if (setting == r.setting && settings.contains(r.key)) out[r.key] = settings[r.key];
  return out;
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
  for (const ContentRecord& r : content_records())
    if (!changed_contents(r.setting, now, saved).empty()) changed.insert(r.setting);

  nlohmann::json result = now;
  nlohmann::json record = saved.value(kResumeChangesKey, nlohmann::json::array());
  std::string refused;
  for (const std::string& key : changed) {
    // The same path with other contents: the digests are the values that differ.
    const bool contents_only = saved.value(key, nlohmann::json()) == now[key];
    const nlohmann::json from =
        contents_only ? content_of(key, saved) : saved.value(key, nlohmann::json());
    const nlohmann::json to = contents_only ? content_of(key, now) : now[key];
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      refused += std::string(refused.empty() ? "" : "; ") + "--" + key + " " +
                 value_text(now[key]) +
                 (contents_only ? ": " + changed_contents(key, now, saved)
                                : " differs from the checkpoint's " + value_text(from));
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
