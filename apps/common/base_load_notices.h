// The notices of loading a base model that an adapter then completes.
//
// A trained run is loaded in two steps: the base model's weights, then the adapter. A base
// downloaded without a classification head makes the first step say "notice: ... has no
// classification head; newly initialised: classifier.weight classifier.bias", although the
// adapter's modules_to_save replace exactly those tensors a moment later: a false alarm. These
// notices are held back until the adapter is loaded, and then only what is still true is said.
#pragma once

#include <iosfwd>
#include <set>
#include <sstream>
#include <string>

namespace ag::apps {

class BaseLoadNotices {
 public:
  explicit BaseLoadNotices(std::ostream* out) : out_(out) {}
  BaseLoadNotices(const BaseLoadNotices&) = delete;
  BaseLoadNotices& operator=(const BaseLoadNotices&) = delete;

  // Where the base model's loader writes its notices (nullptr when they are not wanted).
  std::ostream* stream() { return out_ ? &held_ : nullptr; }

  // Writes the held notices, leaving out of the "newly initialised" list the parameters that
  // `supplied` names (the whole line when none is left).
  void release(const std::set<std::string>& supplied);
  // The parameter names (model names, "classifier.weight") an adapter file holds whole:
  // PEFT saves modules_to_save as "base_model.model.<name>".
  static std::set<std::string> saved_by_adapter(const std::string& adapter_weights_file);

 private:
  std::ostream* out_;
  std::ostringstream held_;
};

}  // namespace ag::apps
