// The train app's data: datasets from files (or the synthetic demo) and the tokenizer.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/common/train_config.h"
#include "data/bert_tokenizer.h"
#include "data/dataset.h"

namespace ag::apps {

struct RunData {
  data::Dataset train, validation, test;  // test.examples is empty when there is no test set
  bool synthetic = false;
};

// Reads --train/--validation/--test, or splits --data, or generates --demo (stratified splits,
// seeded with --seed). Prints one line per split to `log`. Errors are one-line ag::Errors.
RunData load_run_data(const TrainConfig& config, std::ostream& log);

// One data file read with train's conventions (--format or the extension; the text, pair and
// label columns; --skip-bad-rows). With `labels` (the training labels), every label must be
// one of them (by name or by the value the data writes); without, the file's labels are taken,
// named when the data's convention is known (data::with_known_names). Errors name the file.
data::Dataset read_data_file(const TrainConfig& config, const std::string& path,
                             const std::optional<data::LabelMap>& labels);

// A hash of every text and label of every split: a resumed run checks it is fed the same data.
uint64_t data_fingerprint(const RunData& data);

struct RunTokenizer {
  data::BertTokenizer tokenizer;
  std::string folder;                        // where its files are, or empty when generated
  std::vector<std::string> generated_vocab;  // --demo without a vocabulary: the task's words
};

// --tokenizer, else the model folder (or the folder of a config.json --model), else (--demo
// only) a word-level vocabulary built from the synthetic task. Otherwise a clear error.
RunTokenizer load_run_tokenizer(const TrainConfig& config, const RunData& data);

// Writes the tokenizer files (vocab.txt, tokenizer_config.json, ...) into `folder`, so that a
// run folder is enough to predict.
void save_run_tokenizer(const RunTokenizer& tokenizer, const std::string& folder);

// The digests of the tokenizer files save_run_tokenizer() writes, by file name
// ({"vocab.txt": "fnv1a-64:<hex>", ...}): recorded so that --resume sees a changed vocabulary.
nlohmann::json tokenizer_digests(const RunTokenizer& tokenizer);

// The Hugging Face tokenizer files a folder may hold: vocab.txt, tokenizer_config.json,
// tokenizer.json, special_tokens_map.json.
const std::vector<std::string>& tokenizer_file_names();

// Copies the Hugging Face tokenizer files that exist in folder `from` (vocab.txt,
// tokenizer_config.json, tokenizer.json, special_tokens_map.json) into `to`. False if none.
bool copy_tokenizer_files(const std::string& from, const std::string& to);

}  // namespace ag::apps
