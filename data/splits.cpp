#include "data/splits.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "data/data_error.h"
#include "data/random.h"

namespace ag::data {

DatasetSplits stratified_split(const Dataset& dataset, double validation_fraction,
                               double test_fraction, uint64_t seed) {
  if (!(validation_fraction >= 0 && test_fraction >= 0 && validation_fraction + test_fraction < 1))
    throw std::invalid_argument("split fractions must be >= 0 and add up to less than 1");

  // Example indices of each label, in file order (unlabelled examples form their own group).
  std::map<int32_t, std::vector<std::size_t>> by_label;
  for (std::size_t i = 0; i < dataset.examples.size(); ++i)
    by_label[dataset.examples[i].label].push_back(i);

  std::vector<std::size_t> train, validation, test;
  for (auto& [label, indices] : by_label) {
    SplitMix64 rng(derive_seed(seed, static_cast<uint64_t>(static_cast<int64_t>(label) + 1)));
    shuffle(indices, rng);
    const auto count = static_cast<double>(indices.size());
    const auto n_validation = static_cast<std::size_t>(std::llround(validation_fraction * count));
    const auto n_test = std::min(indices.size() - n_validation,
                                 static_cast<std::size_t>(std::llround(test_fraction * count)));
    for (std::size_t k = 0; k < indices.size(); ++k) {
      auto& destination = k < n_validation ? validation : k < n_validation + n_test ? test : train;
      destination.push_back(indices[k]);
    }
  }
  if (train.empty()) throw DataError(dataset.source + ": the training split would be empty");

  const auto make = [&](std::vector<std::size_t>& indices, const char* name) {
    std::sort(indices.begin(), indices.end());
    Dataset split;
    split.source = dataset.source + " [" + name + " split]";
    split.labels = dataset.labels;
    split.has_text_pair = dataset.has_text_pair;
    split.float_labels = dataset.float_labels;
    split.examples.reserve(indices.size());
    for (std::size_t i : indices) split.examples.push_back(dataset.examples[i]);
    return split;
  };
  return {make(train, "train"), make(validation, "validation"), make(test, "test")};
}

}  // namespace ag::data
