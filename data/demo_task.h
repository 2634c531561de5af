#pragma once
// The built-in demo task: SYNTHETIC sentiment sentences, for machines without any dataset.
//
// Sentences are made from a small hand-written lexicon and a few templates, e.g.
//   "the acting was truly wonderful ."            -> positive
//   "the plot was not dull at all ."               -> positive (negation flips the adjective)
//   "the soundtrack starts boring , but ends moving ." -> positive (the clause after "but" wins)
// The data is fully determined by (count, seed), labels are balanced (example i has label
// i % 2), and Dataset::source says "synthetic" so that no report can pass it off as real data.

#include <cstdint>

#include "data/dataset.h"

namespace ag::data {

// Label names: {"negative", "positive"} (ids 0 and 1, as in SST-2).
Dataset make_synthetic_sentiment(int64_t count, uint64_t seed = 0);

inline constexpr const char* kSyntheticSentimentSource =
    "synthetic-sentiment (generated from a hand-written lexicon; NOT real data)";

}  // namespace ag::data
