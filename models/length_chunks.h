// Inference on a padded batch with less padding: the rows are sorted by length and run in
// chunks of similar length, each trimmed to its own longest row.
//
// A batch of 32 SST-2-like sentences of 8..64 tokens is padded to ~62 tokens, but holds ~36
// real ones per row: ~40% of every GEMM is spent on padding. Run in length-sorted chunks, the
// padding shrinks to ~15% and the logits are the same (padding is masked out of every row's
// attention, and each row's arithmetic does not depend on the other rows; only the order of
// float sums over masked zeros may change, ~1e-7).
//
// For evaluation and prediction only: in training mode or with autograd on, it is exactly
// model.forward(input) (the chunks would change the dropout streams and need a gather op in
// the graph).
#pragma once

#include "core/tensor.h"
#include "models/encoder.h"

namespace ag::models {

// logits (B, num_labels), as model.forward(input).
Tensor forward_in_length_chunks(SequenceClassifier& model, const EncoderInput& input);

// The chunks of rows forward_in_length_chunks runs: rows sorted by decreasing length (the
// position after the last real token), cut where a row is at most 3/4 of its chunk's longest
// and the chunk already holds at least `min_rows` rows. One chunk when that saves nothing.
constexpr int64_t kMinChunkRows = 4;  // fewer rows make GEMMs too thin to be worth a cut
std::vector<std::vector<int64_t>> length_chunks(const EncoderInput& input,
                                                int64_t min_rows = kMinChunkRows);

}  // namespace ag::models
