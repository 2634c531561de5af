// How predict writes one answer per input line: the label, its probability and, on request,
// every class's probability (transformers' pipeline(..., top_k=None)) and the raw logits
// (model(**batch).logits).
//
//   --format text   label<TAB>probability (4 decimals)<TAB>text   (the default; with
//                   --all-scores / --logits a column "name=p name=p" / "name=z name=z" before
//                   the text, 4 decimals)
//   --format tsv    a header row, then the same columns with every value at full float
//                   precision (9 significant digits: read back, each is the same float32)
//   --format jsonl  one JSON object per input line:
//                   {"label": "positive", "score": 0.93, "scores": {"negative": 0.07,
//                    "positive": 0.93}, "logits": {"negative": -1.2, "positive": 1.4},
//                    "text": "..."}   ("scores" with --all-scores, "logits" with --logits;
//                   numbers printed so that they read back as the same float32)
//
// A regression (one output, transformers' problem_type "regression", e.g. STS-B) answers with
// its value: score<TAB>text, {"score": 3.7, "text": "..."}; --all-scores and --logits add
// nothing there, the score is the model's output itself.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "data/label_map.h"

namespace ag::apps {

struct PredictionFormat {
  std::string format = "text";  // text|tsv|jsonl
  bool all_scores = false;      // every class's probability
  bool logits = false;          // the raw logits
};

class PredictionWriter {
 public:
  PredictionWriter(std::ostream& out, const PredictionFormat& format, const data::LabelMap& labels);
  // Writes the tsv header, once, before the first answer (nothing for text and jsonl).
  void begin();
  // One answer: `logits` and `probabilities` hold one value per label.
  void write(const std::string& text, const float* logits, const float* probabilities);

 private:
  bool regression() const { return labels_.size() == 1; }

  std::ostream& out_;
  PredictionFormat format_;
  const data::LabelMap& labels_;
};

}  // namespace ag::apps
