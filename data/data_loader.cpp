#include "data/data_loader.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "data/data_error.h"
#include "data/random.h"

namespace ag::data {

std::vector<EncodedExample> encode_dataset(const Dataset& dataset, const BertTokenizer& tokenizer,
                                           int64_t max_length) {
  std::vector<EncodedExample> encoded;
  encoded.reserve(dataset.examples.size());
  for (const Example& example : dataset.examples) {
    Encoding encoding;
    try {
      encoding = dataset.has_text_pair
                     ? tokenizer.encode_pair(example.text, example.text_pair, max_length)
                     : tokenizer.encode(example.text, max_length);
    } catch (const DataError& e) {
      throw DataError(dataset.source + ":" + std::to_string(example.line) + ": " + e.what());
    }
    encoded.push_back({std::move(encoding.input_ids), std::move(encoding.token_type_ids),
                       example.label, example.target});
  }
  return encoded;
}

DataLoader::DataLoader(std::vector<EncodedExample> examples, DataLoaderOptions options)
    : examples_(std::move(examples)), options_(options) {
  if (options_.batch_size <= 0) throw std::invalid_argument("batch_size must be positive");
  if (options_.batches_per_bucket <= 0)
    throw std::invalid_argument("batches_per_bucket must be positive");
  set_epoch(0);
}

void DataLoader::set_epoch(int64_t epoch) {
  std::vector<std::size_t> order(examples_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  SplitMix64 rng(derive_seed(options_.seed, static_cast<uint64_t>(epoch)));
  if (options_.shuffle) shuffle(order, rng);

  const auto batch_size = static_cast<std::size_t>(options_.batch_size);
  if (options_.bucket_by_length) {
    // Sort each bucket of batches_per_bucket batches by length (stable: ties keep their order).
    const std::size_t bucket = batch_size * static_cast<std::size_t>(options_.batches_per_bucket);
    for (std::size_t start = 0; start < order.size(); start += bucket) {
      const auto first = order.begin() + static_cast<std::ptrdiff_t>(start);
      const auto last =
          order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + bucket));
      std::stable_sort(first, last, [&](std::size_t a, std::size_t b) {
        return examples_[a].input_ids.size() < examples_[b].input_ids.size();
      });
    }
  }
  batches_.clear();
  for (std::size_t start = 0; start < order.size(); start += batch_size) {
    const std::size_t end = std::min(order.size(), start + batch_size);  // last one may be partial
    batches_.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                          order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  // Sorted buckets would otherwise always run from short to long batches.
  if (options_.bucket_by_length && options_.shuffle) shuffle(batches_, rng);
}

Batch DataLoader::batch(int64_t index) const {
  if (index < 0 || index >= num_batches())
    throw std::out_of_range("batch " + std::to_string(index) + " of " +
                            std::to_string(num_batches()));
  const std::vector<std::size_t>& members = batches_[static_cast<std::size_t>(index)];
  Batch batch;
  batch.batch_size = static_cast<int64_t>(members.size());
  for (std::size_t i : members)
    batch.seq_len = std::max(batch.seq_len, static_cast<int64_t>(examples_[i].input_ids.size()));

  const auto cells = static_cast<std::size_t>(batch.batch_size * batch.seq_len);
  batch.input_ids.assign(cells, options_.pad_token_id);
  batch.attention_mask.assign(cells, 0);
  batch.token_type_ids.assign(cells, 0);
  for (std::size_t row = 0; row < members.size(); ++row) {
    const EncodedExample& example = examples_[members[row]];
    const std::size_t offset = row * static_cast<std::size_t>(batch.seq_len);
    for (std::size_t t = 0; t < example.input_ids.size(); ++t) {
      batch.input_ids[offset + t] = example.input_ids[t];
      batch.attention_mask[offset + t] = 1;
      if (t < example.token_type_ids.size())
        batch.token_type_ids[offset + t] = example.token_type_ids[t];
    }
    batch.labels.push_back(example.label);
    batch.targets.push_back(example.target);
    batch.example_indices.push_back(static_cast<int64_t>(members[row]));
  }
  return batch;
}

Batch slice_rows(const Batch& batch, int64_t begin, int64_t end) {
  if (begin < 0 || end < begin || end > batch.batch_size)
    throw std::out_of_range("rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                            ") of a batch of " + std::to_string(batch.batch_size));
  Batch out;
  out.batch_size = end - begin;
  out.seq_len = batch.seq_len;
  const auto cell = [&](int64_t row) { return static_cast<std::ptrdiff_t>(row * batch.seq_len); };
  out.input_ids.assign(batch.input_ids.begin() + cell(begin), batch.input_ids.begin() + cell(end));
  out.attention_mask.assign(batch.attention_mask.begin() + cell(begin),
                            batch.attention_mask.begin() + cell(end));
  out.token_type_ids.assign(batch.token_type_ids.begin() + cell(begin),
                            batch.token_type_ids.begin() + cell(end));
  out.labels.assign(batch.labels.begin() + begin, batch.labels.begin() + end);
  out.targets.assign(batch.targets.begin() + begin, batch.targets.begin() + end);
  out.example_indices.assign(batch.example_indices.begin() + begin,
                             batch.example_indices.begin() + end);
  return out;
}

DataLoader::Iterator::Iterator(const DataLoader* loader, int64_t index)
    : loader_(loader), index_(index) {
  if (index_ < loader_->num_batches()) current_ = loader_->batch(index_);
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  ++index_;
  if (index_ < loader_->num_batches()) current_ = loader_->batch(index_);
  return *this;
}

}  // namespace ag::data
