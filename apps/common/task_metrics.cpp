#include "apps/common/task_metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/errors.h"

namespace ag::apps {
namespace {

void check_same_size(size_t a, size_t b, const char* what) {
  if (a != b)
    throw Error(std::string(what) + ": " + std::to_string(a) + " values against " +
                std::to_string(b));
}

}  // namespace

double matthews_corrcoef(const std::vector<int32_t>& labels,
                         const std::vector<int32_t>& predictions) {
  check_same_size(labels.size(), predictions.size(), "matthews_corrcoef");
  // t_k and p_k by class; classes are whatever ids occur (a map: ids need not be dense).
  std::map<int32_t, double> t, p;
  double correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    t[labels[i]] += 1;
    p[predictions[i]] += 1;
    correct += labels[i] == predictions[i];
  }
  const double s = double(labels.size());
  double tp = 0, pp = 0, tt = 0;
  for (auto& [k, tk] : t) {
    tt += tk * tk;
    const auto it = p.find(k);
    if (it != p.end()) tp += tk * it->second;
  }
  for (auto& [k, pk] : p) pp += pk * pk;
  const double denominator = std::sqrt((s * s - pp) * (s * s - tt));
  return denominator > 0 ? (correct * s - tp) / denominator : 0.0;
}

double binary_f1(const std::vector<int32_t>& labels, const std::vector<int32_t>& predictions) {
  check_same_size(labels.size(), predictions.size(), "binary_f1");
  int64_t tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const bool y = labels[i] == 1, yhat = predictions[i] == 1;
    tp += y && yhat;
    fp += !y && yhat;
    fn += y && !yhat;
  }
  const int64_t denominator = 2 * tp + fp + fn;
  return denominator ? 2.0 * double(tp) / double(denominator) : 0.0;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  check_same_size(x.size(), y.size(), "pearson");
  if (x.size() < 2) return 0.0;
  const double n = double(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  const double denominator = std::sqrt(sxx * syy);
  // Rounding can push |r| a hair past 1 (scipy clips too).
  return denominator > 0 ? std::clamp(sxy / denominator, -1.0, 1.0) : 0.0;
}

std::vector<double> average_ranks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t first = 0; first < order.size();) {
    size_t end = first + 1;  // [first, end): one run of equal values
    while (end < order.size() && values[order[end]] == values[order[first]]) ++end;
    // Positions first+1 .. end (1-based) share their mean rank.
    const double rank = (double(first + 1) + double(end)) / 2.0;
    for (size_t i = first; i < end; ++i) ranks[order[i]] = rank;
    first = end;
  }
  return ranks;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  check_same_size(x.size(), y.size(), "spearman");
  return pearson(average_ranks(x), average_ranks(y));
}

bool is_metric_name(const std::string& name) {
  return name == "accuracy" || name == "matthews" || name == "f1" || name == "pearson" ||
         name == "spearman";
}

double metric_value(const std::string& name, const EvalResult& r) {
  if (name == "accuracy") return r.accuracy;
  if (name == "matthews") return matthews_corrcoef(r.labels, r.predictions);
  if (name == "f1") return binary_f1(r.labels, r.predictions);
  if (name == "pearson") return pearson(r.targets, r.scores);
  if (name == "spearman") return spearman(r.targets, r.scores);
  throw Error("unknown metric '" + name + "'");
}

}  // namespace ag::apps
