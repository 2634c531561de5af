// The GLUE metrics (apps/common/task_metrics.h) against scikit-learn 1.x and scipy. The expected
// numbers were computed with /work/main/.venv's Python on the same vectors:
//   from sklearn.metrics import matthews_corrcoef, f1_score
//   from scipy.stats import pearsonr, spearmanr, rankdata
//   matthews_corrcoef(y, yp); f1_score(y, yp); pearsonr(x, z)[0]; spearmanr(x, z)[0]; rankdata(x)
#include <doctest/doctest.h>

#include <vector>

#include "apps/common/task_metrics.h"
#include "core/errors.h"

using namespace ag::apps;

namespace {
const std::vector<int32_t> kLabels = {0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0};
const std::vector<int32_t> kPredictions = {0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1};
// STS-B-like scores with ties (3.0 three times, 2.25 twice).
const std::vector<double> kScores = {0.5, 2.25, 3.0, 3.0, 4.8, 1.0, 3.0, 0.0, 2.25};
const std::vector<double> kPredicted = {0.7, 1.9, 3.4, 2.8, 4.1, 1.6, 2.9, 0.3, 2.0};
}  // namespace

TEST_CASE("matthews_corrcoef: binary and three classes, as scikit-learn") {
  CHECK(matthews_corrcoef(kLabels, kPredictions) ==
        doctest::Approx(0.3142857142857143).epsilon(1e-12));
  CHECK(matthews_corrcoef({0, 1, 2, 2, 1, 0, 2, 1, 0, 1}, {0, 2, 2, 1, 1, 0, 2, 0, 0, 1}) ==
        doctest::Approx(0.5606060606060606).epsilon(1e-12));
  // Perfect and inverted predictions.
  CHECK(matthews_corrcoef({0, 1, 1, 0}, {0, 1, 1, 0}) == doctest::Approx(1.0));
  CHECK(matthews_corrcoef({0, 1, 1, 0}, {1, 0, 0, 1}) == doctest::Approx(-1.0));
  // One class everywhere: undefined, scikit-learn returns 0.
  CHECK(matthews_corrcoef({1, 1, 1}, {1, 1, 1}) == 0.0);
  CHECK_THROWS_AS(matthews_corrcoef({1, 0}, {1}), ag::Error);
}

TEST_CASE("binary_f1: F1 of class 1, as f1_score(average='binary')") {
  CHECK(binary_f1(kLabels, kPredictions) == doctest::Approx(0.7142857142857143).epsilon(1e-12));
  // Class 0 is not the positive class: swapping the classes changes the answer.
  CHECK(binary_f1({1, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1}, {1, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0}) ==
        doctest::Approx(0.6).epsilon(1e-12));
  // No positive label and no positive prediction: f1_score(zero_division=0) gives 0.
  CHECK(binary_f1({0, 0}, {0, 0}) == 0.0);
}

TEST_CASE("average_ranks: ties share their mean rank, as scipy's rankdata") {
  const std::vector<double> expected = {2.0, 4.5, 7.0, 7.0, 9.0, 3.0, 7.0, 1.0, 4.5};
  CHECK(average_ranks(kScores) == expected);
}

TEST_CASE("pearson and spearman, as scipy.stats") {
  CHECK(pearson(kScores, kPredicted) == doctest::Approx(0.9713536031720329).epsilon(1e-12));
  CHECK(spearman(kScores, kPredicted) == doctest::Approx(0.978945010372561).epsilon(1e-12));
  // A constant column has no correlation (scipy: nan with a warning; here 0).
  CHECK(pearson({1, 1, 1}, {1, 2, 3}) == 0.0);
  CHECK_THROWS_AS(spearman({1, 2}, {1, 2, 3}), ag::Error);
}
