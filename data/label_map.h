#pragma once
// Label names <-> class ids 0..K-1, saved with a run so that predictions can be read back.
//
// Labels in a file are strings ("0", "1", "-1", "positive", ...). from_values() gives them ids
// in a fixed order that does not depend on the order of the rows: numerically when every label
// is an integer (so "0","1" keep their value and "-1","1" become 0,1), otherwise by byte order.
// The JSON form is Hugging Face's config.json convention:
//   {"id2label": {"0": "negative", "1": "positive"}, "label2id": {"negative": 0, "positive": 1}}

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
  // Why `name` cannot be a label, or nothing. A label must be non-empty and hold no control
  // character: predict prints "label<TAB>probability<TAB>text" one line per input, which a TAB
  // or a line break in a label would break.
  static std::optional<std::string> invalid_name(std::string_view name);
  // The distinct `values`, ordered as described above.
  static LabelMap from_values(const std::vector<std::string>& values);

  std::optional<int32_t> find(std::string_view name) const;
  const std::string& name(int32_t id) const;  // throws std::out_of_range
  int64_t size() const { return static_cast<int64_t>(names_.size()); }
  bool empty() const { return names_.empty(); }
  const std::vector<std::string>& names() const { return names_; }
  // "{negative, positive}", for error messages.
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
};

}  // namespace ag::data
