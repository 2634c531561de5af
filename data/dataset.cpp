#include "data/dataset.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "data/data_error.h"
#include "data/delimited_text.h"
#include "data/text_file.h"

namespace ag::data {

std::vector<int64_t> Dataset::label_counts() const {
  std::vector<int64_t> counts(static_cast<std::size_t>(labels.size()), 0);
  for (const Example& example : examples)
    if (example.label >= 0 && example.label < labels.size())
      ++counts[static_cast<std::size_t>(example.label)];
  return counts;
}

namespace {

constexpr std::size_t kBadRowMessagesKept = 10;

// A row as read, before its label is turned into an id.
struct RawRow {
  std::string text, text_pair, label;
  int64_t line = 0;
};

std::string trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return std::string(text);
}

// Reports a bad row: throws, or (skip_bad_rows) counts it in the dataset.
class BadRows {
 public:
  BadRows(const std::string& path, bool skip, Dataset& dataset)
      : path_(path), skip_(skip), dataset_(dataset) {}

  void report(int64_t line, const std::string& what) {
    const std::string message = path_ + ":" + std::to_string(line) + ": " + what;
    if (!skip_) throw DataError(message);
    ++dataset_.bad_rows_skipped;
    if (dataset_.bad_row_messages.size() < kBadRowMessagesKept)
      dataset_.bad_row_messages.push_back(message);
  }

 private:
  const std::string& path_;
  bool skip_;
  Dataset& dataset_;
};

// A regression label: a finite number, written in full ("3.8", "4", "5e-1"). "n/a", "3.8x",
// "inf", "nan" and values beyond a float are not.
std::optional<float> parse_float_label(const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE ||
      !std::isfinite(value) || std::abs(value) > double(std::numeric_limits<float>::max()))
    return std::nullopt;
  return float(value);
}

// Regression rows: every label a number kept in Example::target, one class "LABEL_0".
void add_float_rows(std::vector<RawRow> rows, BadRows& bad_rows, Dataset& dataset) {
  dataset.float_labels = true;
  dataset.labels = LabelMap({"LABEL_0"});
  dataset.examples.reserve(rows.size());
  for (RawRow& row : rows) {
    const std::optional<float> value = parse_float_label(row.label);
    if (!value) {
      bad_rows.report(row.line, "label \"" + row.label +
                                    "\" is not a finite number (a regression task's labels are "
                                    "numbers, e.g. 3.8)");
      continue;
    }
    dataset.examples.push_back(
        {std::move(row.text), std::move(row.text_pair), 0, row.line, *value});
  }
  if (dataset.examples.empty())
    throw DataError(dataset.source + ": no examples" +
                    (dataset.bad_rows_skipped > 0
                         ? " (all " + std::to_string(dataset.bad_rows_skipped) + " rows were bad)"
                         : std::string(" (no data rows)")));
}

// Turns raw labels into ids and fills `dataset`; shared by every reader.
void add_rows(std::vector<RawRow> rows, bool labelled, const std::optional<LabelMap>& known,
              BadRows& bad_rows, Dataset& dataset) {
  if (labelled) {
    // A label that cannot be a label name (a TAB or a line break in it) is a bad row.
    std::erase_if(rows, [&](const RawRow& row) {
      const auto problem = LabelMap::invalid_name(row.label);
      if (problem) bad_rows.report(row.line, *problem);
      return problem.has_value();
    });
    if (known) {
      dataset.labels = *known;
    } else {
      std::vector<std::string> values;
      values.reserve(rows.size());
      for (const RawRow& row : rows) values.push_back(row.label);
      dataset.labels = LabelMap::from_values(values);
    }
  }
  dataset.examples.reserve(rows.size());
  for (RawRow& row : rows) {
    int32_t label = -1;
    if (labelled) {
      const std::optional<int32_t> id = dataset.labels.find(row.label);
      if (!id) {
        bad_rows.report(row.line, "label \"" + row.label + "\" is not one of the known labels " +
                                      dataset.labels.describe());
        continue;
      }
      label = *id;
    }
    dataset.examples.push_back({std::move(row.text), std::move(row.text_pair), label, row.line});
  }
  if (dataset.examples.empty()) {
    throw DataError(dataset.source + ": no examples" +
                    (dataset.bad_rows_skipped > 0
                         ? " (all " + std::to_string(dataset.bad_rows_skipped) + " rows were bad)"
                         : std::string(" (no data rows)")));
  }
}

// The text, the second text and the label must be different columns: "--text-column label"
// would otherwise read every label as text and report the label column as empty.
void check_distinct_columns(const std::string& path, const std::string& what,
                            const std::string& text, const std::string& text_pair,
                            const std::string& label) {
  const auto same = [&](const std::string& a, const char* a_role, const std::string& b,
                        const char* b_role) {
    if (!a.empty() && a == b)
      throw DataError(path + ": the " + a_role + " " + what + " and the " + b_role + " " + what +
                      " are both \"" + a + "\" (choose different ones)");
  };
  same(text, "text", label, "label");
  same(text_pair, "text-pair", label, "label");
  same(text, "text", text_pair, "text-pair");
}

// Parses one JSONL line. nlohmann::json keeps the last value of a key given twice
// ({"label": 1, "label": 0}); Python's json module does too, but which one the writer meant is
// anyone's guess, so a key of the row given twice goes to `repeated_key` (nested objects are not
// read, and not checked).
nlohmann::json parse_json_line(const std::string& content, std::string& repeated_key) {
  int open_objects = 0;
  std::set<std::string> row_keys;
  const auto watch_keys = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) ++open_objects;
    if (event == Event::object_end) --open_objects;
    if (event == Event::key && open_objects == 1 && repeated_key.empty() &&
        !row_keys.insert(parsed.get<std::string>()).second)
      repeated_key = parsed.get<std::string>();
    return true;
  };
  return nlohmann::json::parse(content, watch_keys);
}

}  // namespace

Dataset read_table(const std::string& path, const TableReadOptions& options) {
  Dataset dataset;
  dataset.source = path;
  dataset.has_text_pair = !options.text_pair_column.empty();
  BadRows bad_rows(path, options.skip_bad_rows, dataset);
  check_distinct_columns(path, "column", options.text_column, options.text_pair_column,
                         options.label_column);

  const std::string text = read_utf8_file(path, options.max_line_bytes);
  std::vector<DelimitedRecord> records = parse_delimited(text, options.delimiter, options.quoting);
  if (records.empty()) throw DataError(path + ": no examples (the file is empty)");

  // Column names: the header row, or "0", "1", ... as many as the first record has.
  std::vector<std::string> columns;
  std::size_t first_data_record = 0;
  if (options.has_header) {
    if (!records[0].error.empty()) throw DataError(path + ":1: header row: " + records[0].error);
    columns = records[0].fields;
    first_data_record = 1;
  } else {
    for (std::size_t i = 0; i < records[0].fields.size(); ++i) columns.push_back(std::to_string(i));
  }
  const auto column_index = [&](const std::string& name) -> std::size_t {
    const auto it = std::find(columns.begin(), columns.end(), name);
    if (it == columns.end()) {
      std::string available;
      for (const std::string& column : columns)
        available += (available.empty() ? "" : ", ") + column;
      throw DataError(path + ":1: no column \"" + name + "\" (the columns are: " + available + ")");
    }
    // Two columns of one name: which one is meant? (Python's csv.DictReader takes the last,
    // pandas renames the second "label.1": no answer is obviously right.)
    const auto again = std::find(it + 1, columns.end(), name);
    if (again != columns.end())
      throw DataError(path + ":1: column \"" + name + "\" appears twice in the header (columns " +
                      std::to_string(it - columns.begin() + 1) + " and " +
                      std::to_string(again - columns.begin() + 1) + ")");
    return static_cast<std::size_t>(it - columns.begin());
  };
  const std::size_t text_index = column_index(options.text_column);
  const bool labelled = !options.label_column.empty();
  const std::size_t label_index = labelled ? column_index(options.label_column) : 0;
  const std::size_t pair_index = dataset.has_text_pair ? column_index(options.text_pair_column) : 0;

  std::vector<RawRow> rows;
  rows.reserve(records.size());
  for (std::size_t r = first_data_record; r < records.size(); ++r) {
    DelimitedRecord& record = records[r];
    if (!record.error.empty()) {
      bad_rows.report(record.line, record.error);
      continue;
    }
    if (record.fields.size() != columns.size()) {
      bad_rows.report(record.line, "expected " + std::to_string(columns.size()) +
                                       " fields (as many as columns), found " +
                                       std::to_string(record.fields.size()));
      continue;
    }
    RawRow row;
    row.line = record.line;
    row.text = std::move(record.fields[text_index]);
    if (dataset.has_text_pair) row.text_pair = std::move(record.fields[pair_index]);
    if (labelled) {
      row.label = trim(record.fields[label_index]);
      if (row.label.empty()) {
        bad_rows.report(record.line, "empty label in column \"" + options.label_column + "\"");
        continue;
      }
    }
    rows.push_back(std::move(row));
  }
  if (labelled && options.float_labels)
    add_float_rows(std::move(rows), bad_rows, dataset);
  else
    add_rows(std::move(rows), labelled, options.labels, bad_rows, dataset);
  return dataset;
}

Dataset read_jsonl(const std::string& path, const JsonlReadOptions& options) {
  Dataset dataset;
  dataset.source = path;
  dataset.has_text_pair = !options.text_pair_key.empty();
  BadRows bad_rows(path, options.skip_bad_rows, dataset);
  const bool labelled = !options.label_key.empty();
  check_distinct_columns(path, "key", options.text_key, options.text_pair_key, options.label_key);

  const std::string text = read_utf8_file(path, options.max_line_bytes);
  std::vector<RawRow> rows;
  std::size_t start = 0;
  for (int64_t line = 1; start < text.size(); ++line) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string content = trim(std::string_view(text).substr(start, end - start));
    start = end + 1;
    if (content.empty()) continue;

    nlohmann::json object;
    std::string repeated_key;
    try {
      object = parse_json_line(content, repeated_key);
    } catch (const nlohmann::json::exception& e) {
      bad_rows.report(line, std::string("not valid JSON: ") + e.what());
      continue;
    }
    if (!repeated_key.empty()) {
      bad_rows.report(line, "key \"" + repeated_key + "\" appears twice in the object");
      continue;
    }
    if (!object.is_object()) {
      bad_rows.report(line, "expected a JSON object {...}");
      continue;
    }
    const auto get_text = [&](const std::string& key, std::string& out) {
      if (!object.contains(key)) {
        bad_rows.report(line, "no key \"" + key + "\"");
        return false;
      }
      if (!object[key].is_string()) {
        bad_rows.report(line, "\"" + key + "\" is not a string");
        return false;
      }
      out = object[key].get<std::string>();
      return true;
    };
    RawRow row;
    row.line = line;
    if (!get_text(options.text_key, row.text)) continue;
    if (dataset.has_text_pair && !get_text(options.text_pair_key, row.text_pair)) continue;
    if (labelled) {
      const auto label = object.find(options.label_key);
      if (label == object.end()) {
        bad_rows.report(line, "no key \"" + options.label_key + "\"");
        continue;
      }
      if (label->is_number_integer()) {
        row.label = std::to_string(label->get<int64_t>());
      } else if (label->is_number_float() && options.float_labels) {
        row.label = label->dump();
      } else if (label->is_string() && !trim(label->get<std::string>()).empty()) {
        row.label = trim(label->get<std::string>());
      } else {
        bad_rows.report(line,
                        "\"" + options.label_key + "\" is not an integer or a non-empty string");
        continue;
      }
    }
    rows.push_back(std::move(row));
  }
  if (labelled && options.float_labels)
    add_float_rows(std::move(rows), bad_rows, dataset);
  else
    add_rows(std::move(rows), labelled, options.labels, bad_rows, dataset);
  return dataset;
}

}  // namespace ag::data
