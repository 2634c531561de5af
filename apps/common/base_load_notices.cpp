#include "apps/common/base_load_notices.h"

#include <ostream>

#include "core/io/safetensors.h"

namespace ag::apps {
namespace {

// What models::load_weights writes before the names of a head it initialised.
constexpr const char* kFreshHead = " has no classification head; newly initialised:";
constexpr const char* kAdapterPrefix = "base_model.model.";

}  // namespace

std::set<std::string> BaseLoadNotices::saved_by_adapter(const std::string& file) {
  std::set<std::string> names;
  const std::string prefix = kAdapterPrefix;
  const safetensors::File weights = safetensors::File::open(file);
  for (const auto& t : weights.tensors())
    if (t.name.rfind(prefix, 0) == 0 && t.name.find("lora_") == std::string::npos)
      names.insert(t.name.substr(prefix.size()));
  return names;
}

void BaseLoadNotices::release(const std::set<std::string>& supplied) {
  if (!out_) return;
  std::istringstream lines(held_.str());
  held_.str("");
  for (std::string line; std::getline(lines, line);) {
    const size_t at = line.find(kFreshHead);
    if (at == std::string::npos) {
      *out_ << line << "\n";
      continue;
    }
    // "notice: PATH has no classification head; newly initialised: NAME NAME ..."
    const size_t list = at + std::string(kFreshHead).size();
    std::istringstream names(line.substr(list));
    std::string still_fresh;
    for (std::string name; names >> name;)
      if (!supplied.count(name)) still_fresh += " " + name;
    if (!still_fresh.empty()) *out_ << line.substr(0, list) << still_fresh << "\n";
  }
}

}  // namespace ag::apps
