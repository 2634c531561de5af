#include "models/length_chunks.h"

#include <algorithm>
#include <numeric>

#include "core/autograd.h"

namespace ag::models {
namespace {

// The position after the last real token of each row (0 for a row of padding only).
std::vector<int64_t> row_lengths(const EncoderInput& in) {
  const int64_t B = in.batch(), T = in.length();
  const int32_t* mask = in.attention_mask.values.data();
  std::vector<int64_t> lengths(size_t(B), 0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = T; t > 0; --t)
      if (mask[b * T + t - 1] != 0) {
        lengths[size_t(b)] = t;
        break;
      }
  return lengths;
}

// Rows `rows` of a (B, T) index array, first `length` positions of each: (rows, length).
Indices take(const Indices& ids, const std::vector<int64_t>& rows, int64_t length) {
  if (ids.values.empty()) return ids;  // token_type_ids may be absent
  const int64_t T = ids.shape.at(1);
  Indices out{{int64_t(rows.size()), length}, std::vector<int32_t>(rows.size() * size_t(length))};
  for (size_t r = 0; r < rows.size(); ++r)
    std::copy_n(ids.values.begin() + rows[r] * T, length, out.values.begin() + r * length);
  return out;
}

// Rows sorted by decreasing length, cut into chunks (see length_chunks in the header).
std::vector<std::vector<int64_t>> chunks_of(const std::vector<int64_t>& lengths, int64_t min_rows) {
  std::vector<int64_t> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
  std::vector<std::vector<int64_t>> chunks;
  for (int64_t row : order) {
    const bool cut = !chunks.empty() && int64_t(chunks.back().size()) >= min_rows &&
                     4 * lengths[row] <= 3 * lengths[chunks.back().front()];
    if (chunks.empty() || cut) chunks.emplace_back();
    chunks.back().push_back(row);
  }
  return chunks;
}

}  // namespace

std::vector<std::vector<int64_t>> length_chunks(const EncoderInput& in, int64_t min_rows) {
  return chunks_of(row_lengths(in), min_rows);
}

Tensor forward_in_length_chunks(SequenceClassifier& model, const EncoderInput& in) {
  if (model.is_training() || grad_enabled() || in.attention_mask.values.empty())
    return model.forward(in);
  check_input(in, model.config());
  const std::vector<int64_t> lengths = row_lengths(in);
  const auto chunks = chunks_of(lengths, kMinChunkRows);
  if (chunks.size() == 1 && lengths[chunks[0][0]] == in.length()) return model.forward(in);

  const int64_t labels = model.config().num_labels;
  Tensor logits = Tensor::empty({in.batch(), labels});
  for (const auto& rows : chunks) {
    const int64_t length = std::max<int64_t>(1, lengths[rows.front()]);  // the chunk's longest
    const EncoderInput part{take(in.input_ids, rows, length), take(in.attention_mask, rows, length),
                            take(in.token_type_ids, rows, length)};
    const Tensor part_logits = model.forward(part);  // (rows, labels)
    for (size_t r = 0; r < rows.size(); ++r)
      std::copy_n(part_logits.data() + r * labels, labels, logits.data() + rows[r] * labels);
  }
  return logits;
}

}  // namespace ag::models
