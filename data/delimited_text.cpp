#include "data/delimited_text.h"

namespace ag::data {

namespace {

// Reads the records of `text` one by one; `position` always points at the next byte to read.
class RecordParser {
 public:
  RecordParser(std::string_view text, char delimiter, bool quoting)
      : text_(text), delimiter_(delimiter), quoting_(quoting) {}

  bool done() const { return position_ >= text_.size(); }

  DelimitedRecord next() {
    DelimitedRecord record;
    record.line = line_;
    while (true) {
      std::string field;
      const bool ended_line =
          quoting_ && peek() == '"' ? read_quoted(field, record) : read_unquoted(field);
      record.fields.push_back(std::move(field));
      if (ended_line || !record.error.empty()) return record;
    }
  }

 private:
  char peek() const { return position_ < text_.size() ? text_[position_] : '\0'; }

  // Consumes a line break at `position_` if there is one; returns whether there was.
  bool consume_line_break() {
    if (position_ >= text_.size()) return true;  // the end of the text ends the line too
    const char c = text_[position_];
    if (c != '\n' && c != '\r') return false;
    ++position_;
    if (c == '\r' && peek() == '\n') ++position_;
    ++line_;
    return true;
  }

  // Reads up to the next delimiter or line break. Returns true when the record ended.
  bool read_unquoted(std::string& field) {
    const std::size_t start = position_;
    while (position_ < text_.size() && text_[position_] != delimiter_ && text_[position_] != '\n' &&
           text_[position_] != '\r')
      ++position_;
    field.assign(text_.substr(start, position_ - start));
    if (position_ < text_.size() && text_[position_] == delimiter_) {
      ++position_;
      return false;
    }
    consume_line_break();
    return true;
  }

  // Reads "...." with "" as an escaped quote. Returns true when the record ended.
  bool read_quoted(std::string& field, DelimitedRecord& record) {
    const int64_t opened_on = line_;
    ++position_;  // the opening quote
    while (true) {
      if (position_ >= text_.size()) {
        record.error =
            "quoted field opened on line " + std::to_string(opened_on) + " is never closed";
        return true;
      }
      const char c = text_[position_];
      if (c == '"' && position_ + 1 < text_.size() && text_[position_ + 1] == '"') {
        field.push_back('"');
        position_ += 2;
      } else if (c == '"') {
        ++position_;
        break;
      } else {
        if (c == '\n' || (c == '\r' && peek_after() != '\n')) ++line_;
        field.push_back(c);
        ++position_;
      }
    }
    if (position_ < text_.size() && text_[position_] == delimiter_) {
      ++position_;
      return false;
    }
    if (consume_line_break()) return true;
    record.error = std::string("unexpected character '") + text_[position_] +
                   "' after a closing quote (a quote inside a quoted field must be doubled)";
    skip_rest_of_line();
    return true;
  }

  char peek_after() const { return position_ + 1 < text_.size() ? text_[position_ + 1] : '\0'; }

  void skip_rest_of_line() {
    while (position_ < text_.size() && !consume_line_break()) ++position_;
  }

  std::string_view text_;
  char delimiter_;
  bool quoting_;
  std::size_t position_ = 0;
  int64_t line_ = 1;
};

bool is_blank(const DelimitedRecord& record) {
  return record.error.empty() && record.fields.size() == 1 && record.fields[0].empty();
}

}  // namespace

std::vector<DelimitedRecord> parse_delimited(std::string_view text, char delimiter, bool quoting) {
  std::vector<DelimitedRecord> records;
  RecordParser parser(text, delimiter, quoting);
  while (!parser.done()) {
    DelimitedRecord record = parser.next();
    if (!is_blank(record)) records.push_back(std::move(record));
  }
  return records;
}

}  // namespace ag::data
