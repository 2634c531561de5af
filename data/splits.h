#pragma once
// Splitting one labelled dataset into train / validation / test, stratified by label.
//
// Within each label the examples are shuffled with the random seed and the first
// round(fraction * count) go to validation, the next round(fraction * count) to test, the rest
// to train. So every split keeps the label proportions of the whole (up to rounding), and the
// same seed gives the same split on every machine (see data/random.h). Each split keeps the
// file order of its examples.

#include <cstdint>

#include "data/dataset.h"

namespace ag::data {

struct DatasetSplits {
  Dataset train, validation, test;
};

// Fractions in [0, 1) with validation + test < 1. Throws std::invalid_argument for bad
// fractions and DataError when the training split would be empty.
DatasetSplits stratified_split(const Dataset& dataset, double validation_fraction,
                               double test_fraction, uint64_t seed);

}  // namespace ag::data
