// The GLUE tasks as train presets (--task cola|sst2|mrpc|qqp|stsb|mnli|qnli|rte|wnli, the names
// of transformers' run_glue.py --task_name): the columns of GLUE's TSV files, the problem type
// and the metrics each task reports.
//
//   task  file layout (GLUE's TSVs)                          labels           metrics
//   cola  no header: source, label, mark, sentence (0..3)    0, 1             matthews, accuracy
//   sst2  sentence, label                                    0, 1             accuracy
//   mrpc  Quality, #1 ID, #2 ID, #1 String, #2 String        0, 1             accuracy, f1
//   qqp   id, qid1, qid2, question1, question2, is_duplicate 0, 1             accuracy, f1
//   stsb  index ... sentence1, sentence2, score              0.0 .. 5.0       pearson, spearman
//   mnli  index ... sentence1, sentence2, ..., gold_label    3 classes        accuracy
//   qnli  index, question, sentence, label                   (not_)entailment accuracy
//   rte   index, sentence1, sentence2, label                 (not_)entailment accuracy
//   wnli  index, sentence1, sentence2, label                 0, 1             accuracy
//
// The first metric picks the best evaluation (restored before the test set is scored).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/common/train_config.h"
#include "data/label_map.h"

namespace ag::apps {

struct GlueTask {
  std::string name;      // "cola", ...
  std::string folder;    // GLUE's folder name: "CoLA", "SST-2", ...
  std::string dev_file;  // "dev.tsv" (MNLI: "dev_matched.tsv")
  bool header = true;    // CoLA's files have none: columns are "0", "1", ...
  std::string text_column, text_pair_column, label_column;
  std::string problem_type = "single_label_classification";  // or "regression"
  std::vector<std::string> metrics;                          // the first picks the best evaluation
};

// The nine GLUE tasks, in GLUE's order.
const std::vector<GlueTask>& glue_tasks();
// The task of that name, or an ag::Error listing the names.
const GlueTask& glue_task(const std::string& name);

// --task: fills the settings the user left unset (columns, --no-header, --problem-type,
// --metric) from the task; a setting given explicitly wins.
void apply_task_preset(TrainConfig& config);

// The metrics a run reports, first the one that picks the best evaluation: --metric if given,
// then the task's others; without either, accuracy (and Pearson, Spearman for regression).
std::vector<std::string> run_metrics(const TrainConfig& config);

// --metric f1 is the F1 of class 1: refused (naming `source`) unless the data has two labels.
void check_metrics_fit_labels(const TrainConfig& config, const data::LabelMap& labels,
                              const std::string& source);

// How metrics.jsonl and summary.json name `metric` (val_<key>, test_<key>, best_val_<key>):
// "acc" for accuracy, as runs named it before the task metrics; the metric's own name otherwise.
std::string metric_key(const std::string& metric);

// summary.json's task keys: "problem_type", "metric", "task" (with --task) and the best
// validation value as "best_val_acc" (accuracy) or "best_val_<metric>".
void add_task_summary(nlohmann::json& summary, const TrainConfig& config, double best_value);

}  // namespace ag::apps
