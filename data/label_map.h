#pragma once
// Label names <-> class ids 0..K-1, saved with a run so that predictions can be read back.
//
// Labels in a file are strings ("0", "1", "-1", "positive", ...). from_values() gives them ids
// in a fixed order that does not depend on the order of the rows: numerically when every label
// is an integer (so "0","1" keep their value and "-1","1" become 0,1), otherwise by byte order.
// The JSON form is Hugging Face's config.json convention:
//   {"id2label": {"0": "negative", "1": "positive"}, "label2id": {"negative": 0, "positive": 1}}
//
// A data set may write its labels as numbers whose meaning is known (the polarity corpus: -1
// negative, 1 positive; GLUE's SST-2: 0 negative, 1 positive), as a Hugging Face dataset's
// ClassLabel does. The label map then holds the names and, for each, the value the data files
// write: find() accepts both, so data files read as before, while predictions, config.json's
// id2label and messages use the names. The JSON form adds {"data_labels": {"0": "-1", ...}}.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ag::data {

class LabelMap {
 public:
  LabelMap() = default;
  // names[i] gets id i. Throws std::invalid_argument on a repeated name or one invalid_name()
  // refuses.
  explicit LabelMap(std::vector<std::string> names);
  // names[i] gets id i; data files write it as data_values[i]. Throws std::invalid_argument
  // when a name or value stands for two ids.
  LabelMap(std::vector<std::string> names, std::vector<std::string> data_values);
  // Why `name` cannot be a label, or nothing. A label must be non-empty and hold no control
  // character: predict prints "label<TAB>probability<TAB>text" one line per input, which a TAB
  // or a line break in a label would break.
  static std::optional<std::string> invalid_name(std::string_view name);
  // The distinct `values`, ordered as described above.
  static LabelMap from_values(const std::vector<std::string>& values);

  // The id of a label name, or of a label as the data files write it.
  std::optional<int32_t> find(std::string_view name) const;
  // How the data files write label `id` (its name, unless the data writes a number for it).
  const std::string& data_value(int32_t id) const;
  bool has_data_values() const { return !data_values_.empty(); }
  const std::string& name(int32_t id) const;  // throws std::out_of_range
  int64_t size() const { return static_cast<int64_t>(names_.size()); }
  bool empty() const { return names_.empty(); }
  const std::vector<std::string>& names() const { return names_; }
  // "{negative, positive}", for error messages; "{negative (-1), positive (1)}" when the data
  // files write other values.
  std::string describe() const;
  // When the names mix integers and words ("0" and "pos"), write one integer two ways ("01" and
  // "1"), or differ only in letter case ("pos" and "POS") or in Unicode normalisation ("café"
  // composed or decomposed), the first two such names as "{0, pos}"; otherwise nothing.
  std::optional<std::string> mixed_spellings() const;

  std::string to_json() const;
  // Throws DataError naming `where` when the JSON is not a valid id2label map.
  static LabelMap from_json(std::string_view json_text, const std::string& where = "labels");
  void save(const std::string& path) const;  // atomically (temporary file + rename)
  static LabelMap load(const std::string& path);

  bool operator==(const LabelMap& other) const = default;

 private:
  std::vector<std::string> names_;
  std::vector<std::string> data_values_;  // empty: the data files write the names
};

// The labels of a data file whose convention is known but which writes numbers: a file of
// GLUE's SST-2 (its path names "sst2" or "sst-2", in any letter case) with labels {0, 1} gets
// the names {negative, positive} (GLUE's and the datasets library's names). Any other file:
// `labels` unchanged.
LabelMap with_known_names(const LabelMap& labels, const std::string& path);

}  // namespace ag::data
