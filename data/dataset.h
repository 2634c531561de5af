#pragma once
// Labelled text datasets and their readers: TSV, CSV (RFC 4180) and JSONL.
//
// Every reader checks the whole file and reports problems as "file:line: what was wrong":
//   - a malformed row (wrong number of fields, broken quoting, invalid JSON, a missing key,
//     an empty label) is an error -- or, with skip_bad_rows, is skipped and counted;
//   - a label outside the known label set (TableReadOptions::labels, e.g. the training set's
//     labels when reading the validation file) is a bad row too;
//   - a missing column / key named in the options, one column named as both the text and the
//     label, a line longer than max_line_bytes, a file that is not UTF-8, or a dataset without
//     a single example is always an error.
// To use separate train / validation / test files, read the train file first, then pass its
// `labels` in the options of the others so that every split shares one label map.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/label_map.h"
#include "data/text_file.h"

namespace ag::data {

struct Example {
  std::string text;
  std::string text_pair;  // the second text of a pair task; empty otherwise
  int32_t label = -1;     // index into Dataset::labels; -1 for unlabelled data
  int64_t line = 0;       // 1-based line in the source file (0 for generated data)
  float target = 0.0f;    // with float_labels: the label's value (label is then 0)
};

struct Dataset {
  std::string source;  // the file it was read from, or the name of a synthetic task
  std::vector<Example> examples;
  LabelMap labels;
  bool has_text_pair = false;
  bool float_labels = false;                  // a regression task: Example::target holds each label
  int64_t bad_rows_skipped = 0;               // with skip_bad_rows
  std::vector<std::string> bad_row_messages;  // the first few of them, "file:line: what"

  int64_t size() const { return static_cast<int64_t>(examples.size()); }
  // Number of examples of each label id.
  std::vector<int64_t> label_counts() const;
};

struct TableReadOptions {
  char delimiter = '\t';
  bool quoting = false;    // RFC 4180 double-quote quoting (CSV); GLUE's TSV files have none
  bool has_header = true;  // without a header row the columns are named "0", "1", ...
  std::string text_column = "sentence";
  std::string text_pair_column;        // empty: single-text task
  std::string label_column = "label";  // empty: unlabelled data
  std::optional<LabelMap> labels;      // the known labels; unset: taken from this file
  // A regression task (GLUE's STS-B): every label is a finite number, kept in Example::target;
  // the label map is the single class "LABEL_0" (transformers' id2label for num_labels 1).
  bool float_labels = false;
  bool skip_bad_rows = false;
  int64_t max_line_bytes = kDefaultMaxLineBytes;  // a longer line is an error

  static TableReadOptions tsv() { return {}; }
  static TableReadOptions csv() {
    TableReadOptions options;
    options.delimiter = ',';
    options.quoting = true;
    return options;
  }
};

Dataset read_table(const std::string& path, const TableReadOptions& options);

struct JsonlReadOptions {
  std::string text_key = "text";
  std::string text_pair_key;        // empty: single-text task
  std::string label_key = "label";  // integer or string values; empty: unlabelled
  std::optional<LabelMap> labels;
  // A regression task (GLUE's STS-B): every label is a finite number, kept in Example::target;
  // the label map is the single class "LABEL_0" (transformers' id2label for num_labels 1).
  bool float_labels = false;
  bool skip_bad_rows = false;
  int64_t max_line_bytes = kDefaultMaxLineBytes;  // a longer line is an error
};

// One JSON object per line; blank lines are ignored.
Dataset read_jsonl(const std::string& path, const JsonlReadOptions& options);

}  // namespace ag::data
