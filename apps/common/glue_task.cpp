#include "apps/common/glue_task.h"

#include <algorithm>

#include "core/errors.h"

namespace ag::apps {

const std::vector<GlueTask>& glue_tasks() {
  static const std::vector<GlueTask> tasks = {
      {"cola",
       "CoLA",
       "dev.tsv",
       false,
       "3",
       "",
       "1",
       "single_label_classification",
       {"matthews", "accuracy"}},
      {"sst2",
       "SST-2",
       "dev.tsv",
       true,
       "sentence",
       "",
       "label",
       "single_label_classification",
       {"accuracy"}},
      {"mrpc",
       "MRPC",
       "dev.tsv",
       true,
       "#1 String",
       "#2 String",
       "Quality",
       "single_label_classification",
       {"accuracy", "f1"}},
      {"qqp",
       "QQP",
       "dev.tsv",
       true,
       "question1",
       "question2",
       "is_duplicate",
       "single_label_classification",
       {"accuracy", "f1"}},
      {"stsb",
       "STS-B",
       "dev.tsv",
       true,
       "sentence1",
       "sentence2",
       "score",
       "regression",
       {"pearson", "spearman"}},
      {"mnli",
       "MNLI",
       "dev_matched.tsv",
       true,
       "sentence1",
       "sentence2",
       "gold_label",
       "single_label_classification",
       {"accuracy"}},
      {"qnli",
       "QNLI",
       "dev.tsv",
       true,
       "question",
       "sentence",
       "label",
       "single_label_classification",
       {"accuracy"}},
      {"rte",
       "RTE",
       "dev.tsv",
       true,
       "sentence1",
       "sentence2",
       "label",
       "single_label_classification",
       {"accuracy"}},
      {"wnli",
       "WNLI",
       "dev.tsv",
       true,
       "sentence1",
       "sentence2",
       "label",
       "single_label_classification",
       {"accuracy"}},
  };
  return tasks;
}

const GlueTask& glue_task(const std::string& name) {
  std::string names;
  for (const GlueTask& t : glue_tasks()) {
    if (t.name == name) return t;
    names += (names.empty() ? "" : ", ") + t.name;
  }
  throw Error("--task must be one of " + names + " (GLUE), got '" + name + "'");
}

void apply_task_preset(TrainConfig& c) {
  if (c.task.empty()) return;
  const GlueTask& t = glue_task(c.task);
  if (c.text_column.empty()) c.text_column = t.text_column;
  if (c.text_pair_column.empty()) c.text_pair_column = t.text_pair_column;
  if (c.label_column.empty()) c.label_column = t.label_column;
  if (!t.header) c.no_header = true;
  if (c.problem_type.empty()) c.problem_type = t.problem_type;
  if (c.metric.empty()) c.metric = t.metrics.front();
}

std::vector<std::string> run_metrics(const TrainConfig& c) {
  std::vector<std::string> metrics;
  if (!c.metric.empty()) metrics.push_back(c.metric);
  std::vector<std::string> others = c.is_regression()
                                        ? std::vector<std::string>{"pearson", "spearman"}
                                        : std::vector<std::string>{"accuracy"};
  if (!c.task.empty()) others = glue_task(c.task).metrics;
  for (const std::string& m : others)
    if (std::find(metrics.begin(), metrics.end(), m) == metrics.end()) metrics.push_back(m);
  return metrics;
}

void check_metrics_fit_labels(const TrainConfig& c, const data::LabelMap& labels,
                              const std::string& source) {
  const auto metrics = run_metrics(c);
  if (std::find(metrics.begin(), metrics.end(), "f1") != metrics.end() && labels.size() != 2)
    throw Error(source +
                ": --metric f1 is the F1 of class 1 of a two-class task, but the labels "
                "are " +
                labels.describe());
}

std::string metric_key(const std::string& metric) {
  return metric == "accuracy" ? "acc" : metric;
}

void add_task_summary(nlohmann::json& summary, const TrainConfig& c, double best_value) {
  const std::string metric = run_metrics(c).front();
  summary["metric"] = metric;
  summary["best_val_" + metric_key(metric)] = best_value;
  summary["problem_type"] = c.is_regression() ? "regression" : "single_label_classification";
  if (!c.task.empty()) summary["task"] = c.task;
}

}  // namespace ag::apps
