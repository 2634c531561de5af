// The metrics GLUE reports for its tasks, each as scikit-learn / scipy compute it:
//
//   task                     metric(s)                    function
//   CoLA                     Matthews correlation         matthews_corrcoef
//   MRPC, QQP                F1 of class 1, accuracy      binary_f1 (+ accuracy)
//   STS-B (regression)       Pearson, Spearman            pearson, spearman
//   SST-2, MNLI, QNLI, RTE   accuracy                     (evaluate.h)
//
// A metric that is undefined on the data (a constant column, no positive example) is 0, as
// scikit-learn returns for Matthews and F1 (scipy returns nan for a constant correlation;
// 0 keeps summary.json valid JSON and "no signal" reads the same).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apps/common/evaluate.h"

namespace ag::apps {

// Matthews correlation of multi-class predictions, sklearn.metrics.matthews_corrcoef:
// with the confusion matrix C (rows: labels, columns: predictions), t_k = Σ_j C_kj,
// p_k = Σ_i C_ik, c = trace(C), s = n:
//   MCC = (c·s − Σ_k t_k·p_k) / sqrt((s² − Σ_k p_k²)·(s² − Σ_k t_k²))
double matthews_corrcoef(const std::vector<int32_t>& labels,
                         const std::vector<int32_t>& predictions);

// F1 of the positive class 1: 2·TP / (2·TP + FP + FN), sklearn's f1_score(average="binary").
double binary_f1(const std::vector<int32_t>& labels, const std::vector<int32_t>& predictions);

// Pearson's r = Σ (x − x̄)(y − ȳ) / sqrt(Σ (x − x̄)² · Σ (y − ȳ)²), in double (scipy.stats.pearsonr).
double pearson(const std::vector<double>& x, const std::vector<double>& y);

// Ranks 1..n, ties given their average rank (scipy.stats.rankdata(method="average")).
std::vector<double> average_ranks(const std::vector<double>& values);

// Spearman's ρ: Pearson's r of the average ranks (scipy.stats.spearmanr).
double spearman(const std::vector<double>& x, const std::vector<double>& y);

// The metric names train accepts for --metric, and the one a GLUE task reports first (the one
// that picks the best evaluation): accuracy, matthews, f1, pearson, spearman.
bool is_metric_name(const std::string& name);

// The value of metric `name` (is_metric_name) on an evaluation: accuracy from the counts,
// matthews and f1 from its labels and predictions, pearson and spearman from its targets and
// scores (a regression's).
double metric_value(const std::string& name, const EvalResult& result);

}  // namespace ag::apps
