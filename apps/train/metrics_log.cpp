#include "apps/train/metrics_log.h"

#include <sstream>

#include "core/io/atomic_file.h"

namespace ag::apps {

std::string MetricsLog::to_jsonl() const {
  std::string text;
  for (auto& e : events_) text += e.dump() + "\n";
  return text;
}

MetricsLog MetricsLog::from_jsonl(const std::string& text) {
  MetricsLog log;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) log.add(nlohmann::json::parse(line));
  return log;
}

void MetricsLog::write(const std::string& path) const {
  write_text_file_atomically(path, to_jsonl());
}

}  // namespace ag::apps
