// --resume continues a run only with the settings it was started with.
//
// Every setting that changes the result (model and its base weights and config, tokenizer and
// its files, method, adapter settings, batch size, max length, lr, epochs, schedule, ...) is
// compared with the one saved in the checkpoint. A difference is refused, unless named in
// --allow-change: then the run goes on with the new value and train_config.json records it under
// "resume-changes" (the step, the checkpoint's value and the new one), so the file never claims the
// whole run used it. Not compared: the data file paths (the checkpoint's data fingerprint checks
// their contents), threads, the output folder and what is only printed or how often a checkpoint is
// written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ag::apps {

inline constexpr const char* kResumeChangesKey = "resume-changes";
// The digests of the tokenizer files a run uses ({"vocab.txt": "fnv1a-64:...", ...}): the same
// --tokenizer folder may hold another vocabulary when the run is resumed.
inline constexpr const char* kTokenizerDigestKey = "tokenizer-digest";

// `now`: this session's settings (train_config.json form, with the base and tokenizer digests);
// `saved`: the checkpoint's. A digest the checkpoint does not record (an older run) is not
// compared. Returns `now` with the record of the allowed changes; throws ag::Error naming
// every refused setting with both values, and `checkpoint` (the file).
nlohmann::json check_resume_settings(const nlohmann::json& now, const nlohmann::json& saved,
                                     const std::vector<std::string>& allowed, int64_t step,
                                     const std::string& checkpoint);

}  // namespace ag::apps
