// metrics.jsonl: one JSON object per logged event, rewritten atomically as a whole.
//
// Events: {"event": "train", "step", "epoch", "loss", "lr", "grad_norm"} every --log-every
// steps; {"event": "eval", "step", "epoch", "val_loss", "val_acc", "val_macro_f1"} after each
// evaluation; {"event": "test", ...} once at the end. Nothing in it depends on the clock, so
// two runs with the same seed and thread count write the same file byte for byte (timings go
// to summary.json).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ag::apps {

class MetricsLog {
 public:
  void add(nlohmann::json event) { events_.push_back(std::move(event)); }
  const std::vector<nlohmann::json>& events() const { return events_; }
  // The whole log as JSONL text (and back, for checkpoints).
  std::string to_jsonl() const;
  static MetricsLog from_jsonl(const std::string& text);
  void write(const std::string& path) const;  // atomically

 private:
  std::vector<nlohmann::json> events_;
};

}  // namespace ag::apps
