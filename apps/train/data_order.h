// What the train app fed the model, written for a peer to replay: `train --save-data-order`
// writes <run folder>/data_order.jsonl, so that another trainer (tools/bench/race_torch.py, in
// PyTorch) trains on the same split, the same token ids and the same batches in the same order.
// One JSON object per line:
//
//   {"labels": ["negative", "positive"], "max_length": 64, "batch_size": 16, "epochs": 3,
//    "seed": 42, "bucket": true, "sizes": {"train": 3200, "validation": 400, "test": 400}}
//   {"split": "train", "text": "...", "text_pair": "", "label": 1, "input_ids": [101, ...]}
//   ...                                          every example of train, validation, test
//   {"epoch": 0, "batches": [[12, 7, ...], ...]} per epoch: each batch's train example indices
//
// input_ids are what the model sees ([CLS] text [SEP], truncated to max_length); label is the
// index into "labels". Evaluation order does not matter (no gradients), so only the training
// batches are listed. Lines are streamed, so the file costs the train app no memory.
#pragma once

#include <string>

#include "apps/common/run_data.h"
#include "apps/common/train_config.h"
#include "data/data_loader.h"

namespace ag::apps {

// Writes the file described above to `path` atomically. `train_loader` is the loader training
// will use; it is copied, so its current epoch is left alone.
void write_data_order(const std::string& path, const RunData& run,
                      const data::BertTokenizer& tokenizer, const data::DataLoader& train_loader,
                      const TrainConfig& config);

}  // namespace ag::apps
