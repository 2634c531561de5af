#pragma once
// Batching: encoded examples -> padded batches, one epoch at a time.
//
//   auto encoded = data::encode_dataset(train_set, tokenizer, /*max_length=*/128);
//   data::DataLoaderOptions options;
//   options.batch_size = 32;
//   options.seed = 42;
//   data::DataLoader loader(std::move(encoded), options);
//   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//     loader.set_epoch(epoch);                  // a new shuffle, derived from (seed, epoch)
//     for (const data::Batch& batch : loader) { ... }
//   }
//
// Each batch is padded to ITS OWN longest sequence (never to a fixed 512), and the last,
// partial batch is kept. With bucket_by_length, the shuffled examples are cut into buckets of
// `batches_per_bucket` batches, each bucket is sorted by length and cut into batches, and the
// batch order is shuffled: batches then hold similar lengths, so there is little padding,
// while every epoch still sees a different order.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

#include "data/bert_tokenizer.h"
#include "data/dataset.h"

namespace ag::data {

struct EncodedExample {
  std::vector<int32_t> input_ids;
  std::vector<int32_t> token_type_ids;
  int32_t label = -1;
  float target = 0.0f;  // a regression task's float label
};

// Encodes every example ([CLS] text [SEP] (pair [SEP])), truncated to max_length (0: none).
std::vector<EncodedExample> encode_dataset(const Dataset& dataset, const BertTokenizer& tokenizer,
                                           int64_t max_length);

// Row-major (batch_size, seq_len) arrays; padding has id pad_token_id, mask 0 and type 0.
struct Batch {
  int64_t batch_size = 0, seq_len = 0;
  std::vector<int32_t> input_ids, attention_mask, token_type_ids;
  std::vector<int32_t> labels;           // (batch_size)
  std::vector<float> targets;            // (batch_size): regression labels (0 otherwise)
  std::vector<int64_t> example_indices;  // (batch_size): positions in the loader's examples
};

// Rows [begin, end) of a batch, at the whole batch's seq_len: one process's share of a global
// batch in data-parallel training (the same padding keeps the per-row results identical).
Batch slice_rows(const Batch& batch, int64_t begin, int64_t end);

struct DataLoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = true;
  uint64_t seed = 0;
  bool bucket_by_length = false;
  int64_t batches_per_bucket = 50;
  int32_t pad_token_id = 0;
};

class DataLoader {
 public:
  // Throws std::invalid_argument when batch_size or batches_per_bucket is not positive.
  DataLoader(std::vector<EncodedExample> examples, DataLoaderOptions options);

  // Chooses the order of epoch `epoch` (epoch 0 is chosen by the constructor).
  void set_epoch(int64_t epoch);

  int64_t num_batches() const { return static_cast<int64_t>(batches_.size()); }
  int64_t num_examples() const { return static_cast<int64_t>(examples_.size()); }
  const std::vector<EncodedExample>& examples() const { return examples_; }
  const DataLoaderOptions& options() const { return options_; }

  // The index-th batch of the current epoch, 0 <= index < num_batches().
  Batch batch(int64_t index) const;

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = const Batch*;
    using reference = const Batch&;

    Iterator(const DataLoader* loader, int64_t index);
    reference operator*() const { return current_; }
    pointer operator->() const { return &current_; }
    Iterator& operator++();
    bool operator==(const Iterator& other) const { return index_ == other.index_; }

   private:
    const DataLoader* loader_;
    int64_t index_;
    Batch current_;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, num_batches()); }

 private:
  std::vector<EncodedExample> examples_;
  DataLoaderOptions options_;
  std::vector<std::vector<std::size_t>> batches_;  // example indices of each batch, this epoch
};

}  // namespace ag::data
