// predict --evaluate: a trained run scored on a labelled file, as scikit-learn scores it.
//
// The file follows train's data conventions (TSV/CSV with a header, JSONL, the polarity CSV;
// the run's --text-column, --text-pair-column and --label-column). Its labels are the run's
// label names or the values its data files wrote ("-1" for negative); any other label is an
// error naming the file and the line. The report holds
//   accuracy          sklearn.metrics.accuracy_score(y_true, y_pred)
//   macro-F1          sklearn.metrics.f1_score(y_true, y_pred, average="macro")
//   loss              the mean cross-entropy (torch.nn.functional.cross_entropy)
//   confusion matrix  sklearn.metrics.confusion_matrix(y_true, y_pred, labels=range(K)):
//                     row = true label, column = predicted label, in label-id order
//   the task's metrics  those the run was trained to report besides accuracy (--task, --metric:
//                     Matthews, F1 of class 1; apps/common/task_metrics.h)
// A regression run (one output, e.g. STS-B) reads float labels and reports the loss (MSE),
// Pearson and Spearman instead.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/common/train_config.h"
#include "apps/predict/trained_run.h"

namespace ag::apps {

struct LabelledEvaluation {
  std::string input;
  int64_t examples = 0;
  bool regression = false;
  double accuracy = 0, macro_f1 = 0, loss = 0;               // accuracy, macro-F1: classification
  std::vector<std::vector<int64_t>> confusion;               // [true][predicted]; classification
  std::vector<std::pair<std::string, double>> task_metrics;  // e.g. {"matthews", 0.41}
};

// Reads `path` with `settings`' data conventions and the run's labels, and scores the run on it.
LabelledEvaluation evaluate_labelled_file(TrainedRun& run, const TrainConfig& settings,
                                          const std::string& path, int64_t batch_size);

// The report for people: examples, accuracy, macro-F1, loss, the confusion matrix with names.
void print_evaluation(std::ostream& out, const LabelledEvaluation& e, const data::LabelMap& labels);

// The report as JSON (--metrics-out): {"input", "examples", "accuracy", "macro_f1", "loss",
// "labels": [names by id], "confusion_matrix": [[...]] (rows true, columns predicted), and each
// task metric by name}; a regression: {"input", "examples", "loss", "pearson", "spearman"}.
nlohmann::ordered_json evaluation_json(const LabelledEvaluation& e, const data::LabelMap& labels);

}  // namespace ag::apps
