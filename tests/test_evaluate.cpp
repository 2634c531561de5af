// Macro-F1 of apps/common/evaluate.h against scikit-learn on small hand-made cases.
#include <doctest/doctest.h>

#include "apps/common/evaluate.h"

using ag::apps::macro_f1;

// The expected numbers were computed with scikit-learn 1.9.1:
//   from sklearn.metrics import f1_score
//   f1_score(y_true, y_pred, average="macro")
// which averages over the classes present in y_true or y_pred (its default `labels`), whatever
// the number of classes the model has (here given as num_labels).
TEST_CASE("macro-F1 averages over the classes of the labels and predictions, as scikit-learn") {
  // Class 2 of 3 is neither a label nor a prediction.
  CHECK(macro_f1({0, 0, 1, 1}, {0, 1, 1, 1}, 3) == doctest::Approx(0.7333333333333334));
  // Class 2 is only predicted (F1 0, counted); class 3 of 4 is absent.
  CHECK(macro_f1({0, 0, 0, 1}, {0, 2, 0, 1}, 4) == doctest::Approx(0.6));
  // Class 2 is only a label, never predicted (F1 0, counted).
  CHECK(macro_f1({0, 1, 2, 2}, {0, 1, 1, 1}, 3) == doctest::Approx(0.5));
  // Classes 0 and 2 of 4 absent.
  CHECK(macro_f1({3, 3, 1, 1, 1}, {3, 1, 1, 1, 3}, 4) == doctest::Approx(0.5833333333333333));
  // One class, every answer right.
  CHECK(macro_f1({2, 2}, {2, 2}, 3) == doctest::Approx(1.0));
}
