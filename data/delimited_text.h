#pragma once
// Splitting CSV / TSV text into records of fields.
//
// With quoting (CSV, RFC 4180): a field that starts with a double quote runs to the matching
// closing quote and may contain delimiters, line breaks and doubled quotes ("" -> "). After
// the closing quote only a delimiter or the end of the line may follow. A quote inside an
// unquoted field is an ordinary character (as Python's csv module reads it).
// Without quoting (TSV as GLUE writes it): a record is one line, fields are split at every
// delimiter, and quotes mean nothing.
// Lines end with "\n", "\r\n" or "\r". Blank lines are skipped.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ag::data {

struct DelimitedRecord {
  std::vector<std::string> fields;
  int64_t line = 0;   // 1-based line on which the record starts
  std::string error;  // non-empty when the record is malformed (its fields are then partial)
};

// Parses all of `text`. An unterminated quoted field is reported on the last record, with the
// line where the quote opened; parsing stops there.
std::vector<DelimitedRecord> parse_delimited(std::string_view text, char delimiter, bool quoting);

}  // namespace ag::data
