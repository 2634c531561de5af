#include "apps/predict/prediction_output.h"

#include <algorithm>
#include <cstdio>
#include <ostream>

#include <nlohmann/json.hpp>

namespace ag::apps {
namespace {

// `digits` significant digits: 4 decimals for people (text), 9 digits for programs (tsv):
// 9 significant digits are enough for any float32 to read back as itself.
std::string number(float value, bool full_precision) {
  char text[32];
  std::snprintf(text, sizeof text, full_precision ? "%.9g" : "%.4f", double(value));
  return text;
}

}  // namespace

PredictionWriter::PredictionWriter(std::ostream& out, const PredictionFormat& format,
                                   const data::LabelMap& labels)
    : out_(out), format_(format), labels_(labels) {}

void PredictionWriter::begin() {
  if (format_.format != "tsv") return;
  if (regression()) {
    out_ << "score\ttext\n";
    return;
  }
  out_ << "label\tscore";
  for (int32_t id = 0; format_.all_scores && id < labels_.size(); ++id)
    out_ << "\tscore:" << labels_.name(id);
  for (int32_t id = 0; format_.logits && id < labels_.size(); ++id)
    out_ << "\tlogit:" << labels_.name(id);
  out_ << "\ttext\n";
}

void PredictionWriter::write(const std::string& text, const float* logits,
                             const float* probabilities) {
  if (regression()) {  // one output (e.g. STS-B): the value itself is the answer
    if (format_.format == "jsonl")
      out_ << nlohmann::ordered_json{{"score", double(logits[0])}, {"text", text}}.dump() << '\n';
    else
      out_ << number(logits[0], format_.format == "tsv") << '\t' << text << '\n';
    return;
  }
  const int32_t k = int32_t(labels_.size());
  const int32_t best = int32_t(std::max_element(probabilities, probabilities + k) - probabilities);
  if (format_.format == "jsonl") {
    // nlohmann prints a double with the fewest digits that read back as the same double; a
    // float widened to double reads back, narrowed, as the same float.
    nlohmann::ordered_json answer{{"label", labels_.name(best)},
                                  {"score", double(probabilities[best])}};
    if (format_.all_scores) {
      nlohmann::ordered_json scores = nlohmann::ordered_json::object();
      for (int32_t id = 0; id < k; ++id) scores[labels_.name(id)] = double(probabilities[id]);
      answer["scores"] = scores;
    }
    if (format_.logits) {
      nlohmann::ordered_json values = nlohmann::ordered_json::object();
      for (int32_t id = 0; id < k; ++id) values[labels_.name(id)] = double(logits[id]);
      answer["logits"] = values;
    }
    answer["text"] = text;
    out_ << answer.dump() << '\n';
    return;
  }
  const bool tsv = format_.format == "tsv";
  out_ << labels_.name(best) << '\t' << number(probabilities[best], tsv);
  // text: one column of "name=value" pairs; tsv: one column per value, named in the header.
  auto values = [&](const float* row) {
    for (int32_t id = 0; id < k; ++id) {
      if (tsv)
        out_ << '\t' << number(row[id], true);
      else
        out_ << (id ? ' ' : '\t') << labels_.name(id) << '=' << number(row[id], false);
    }
  };
  if (format_.all_scores) values(probabilities);
  if (format_.logits) values(logits);
  out_ << '\t' << text << '\n';
}

}  // namespace ag::apps
