#include "apps/predict/labelled_evaluation.h"

#include <algorithm>
#include <cstdio>
#include <ostream>

#include "apps/common/evaluate.h"
#include "apps/common/glue_task.h"
#include "apps/common/run_data.h"
#include "apps/common/task_metrics.h"
#include "core/errors.h"
#include "data/data_loader.h"

namespace ag::apps {

LabelledEvaluation evaluate_labelled_file(TrainedRun& run, const TrainConfig& settings,
                                          const std::string& path, int64_t batch_size) {
  const data::Dataset dataset = read_data_file(settings, path, run.labels);
  if (dataset.has_text_pair != run.text_pairs)
    throw Error(path + (run.text_pairs ? ": has no text pair column, but the model was trained "
                                         "on text pairs (--text-pair-column)"
                                       : ": has a text pair column, but the model was trained "
                                         "on single texts"));
  data::DataLoaderOptions options;
  options.batch_size = batch_size;
  options.shuffle = false;
  options.bucket_by_length = true;  // less padding; predictions come back in file order
  options.pad_token_id = run.tokenizer->pad_id();
  const data::DataLoader loader(data::encode_dataset(dataset, *run.tokenizer, run.max_length),
                                options);
  const int64_t k = run.labels.size();
  const EvalResult result = evaluate(*run.model, loader, k, nullptr, settings.is_regression());

  LabelledEvaluation e;
  e.input = path;
  e.examples = result.examples;
  e.loss = result.loss;
  e.regression = settings.is_regression();
  for (const std::string& m : run_metrics(settings))
    if (m != "accuracy") e.task_metrics.emplace_back(m, metric_value(m, result));
  if (e.regression) return e;
  e.accuracy = result.accuracy;
  e.macro_f1 = result.macro_f1;
  e.confusion.assign(size_t(k), std::vector<int64_t>(size_t(k), 0));
  for (size_t i = 0; i < dataset.examples.size(); ++i)
    ++e.confusion[size_t(dataset.examples[i].label)][size_t(result.predictions[i])];
  return e;
}

void print_evaluation(std::ostream& out, const LabelledEvaluation& e,
                      const data::LabelMap& labels) {
  char line[160];
  if (e.regression)
    std::snprintf(line, sizeof line, "loss (MSE) %.4f", e.loss);
  else
    std::snprintf(line, sizeof line, "accuracy %.4f, macro-F1 %.4f, loss %.4f", e.accuracy,
                  e.macro_f1, e.loss);
  out << e.input << ": " << e.examples << " examples\n" << line;
  for (const auto& [name, value] : e.task_metrics) {
    std::snprintf(line, sizeof line, ", %s %.4f", name.c_str(), value);
    out << line;
  }
  out << "\n";
  if (e.regression) return;
  out << "confusion matrix (rows: true label, columns: predicted label):\n";
  // Columns as wide as the longest name or count, right-aligned as sklearn's report prints.
  size_t width = 1;
  for (const std::string& name : labels.names()) width = std::max(width, name.size());
  for (const auto& row : e.confusion)
    for (const int64_t n : row) width = std::max(width, std::to_string(n).size());
  auto cell = [&](const std::string& text) {
    out << std::string(width + 2 - std::min(width + 2, text.size()), ' ') << text;
  };
  cell("");
  for (const std::string& name : labels.names()) cell(name);
  out << "\n";
  for (size_t t = 0; t < e.confusion.size(); ++t) {
    cell(labels.names()[t]);
    for (const int64_t n : e.confusion[t]) cell(std::to_string(n));
    out << "\n";
  }
}

nlohmann::ordered_json evaluation_json(const LabelledEvaluation& e, const data::LabelMap& labels) {
  nlohmann::ordered_json report{{"input", e.input}, {"examples", e.examples}};
  if (!e.regression) {
    report["accuracy"] = e.accuracy;
    report["macro_f1"] = e.macro_f1;
  }
  report["loss"] = e.loss;
  for (const auto& [name, value] : e.task_metrics) report[name] = value;
  if (!e.regression) {
    report["labels"] = labels.names();
    report["confusion_matrix"] = e.confusion;
  }
  return report;
}

}  // namespace ag::apps
