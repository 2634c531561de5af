#pragma once
// Reading text files and streams as validated UTF-8, and checked output.

#include <cstdint>
#include <fstream>
#include <iosfwd>
#include <string>
#include <string_view>

#include "core/io/read_file.h"

namespace ag::data {

// The longest line the readers accept unless told otherwise (--max-line-bytes): far above any
// sentence, small enough that input without line breaks (/dev/zero, a binary file) fails at
// once instead of filling the memory.
inline constexpr int64_t kDefaultMaxLineBytes = int64_t(1) << 20;

// Reads `path` into memory, drops a leading UTF-8 byte-order mark, and checks that the rest is
// valid UTF-8 with no line longer than `max_line_bytes`. Throws DataError: "<path>: cannot open
// file", "<path>: is a folder, expected a file",
// "<path>:<line>: line longer than <n> bytes (...)", or
// "<path>:<line>: invalid UTF-8 at byte offset <n> (the file is not UTF-8 text)".
std::string read_utf8_file(const std::string& path, int64_t max_line_bytes = kDefaultMaxLineBytes);

// A tokenizer or settings file (vocab.txt, tokenizer.json, tokenizer_config.json) as UTF-8
// text: read by ag::read_file (a regular file of at most `kind.max_bytes`; a device such as
// /dev/urandom is refused before a byte is read), then checked as read_utf8_file does. Every
// error is a DataError naming the file.
std::string read_utf8_input_file(const std::string& path, const FileKind& kind);

// Opens `path` for reading with LineReader. Throws DataError when it is a folder or cannot be
// opened.
std::ifstream open_text_input(const std::string& path);

// Reads a stream one line at a time, for the apps that answer every input line with one output
// line. Lines end with "\n" (a "\r" before it is dropped); each one is checked to be valid UTF-8
// without NUL bytes and at most max_line_bytes long, while it is read. Errors are DataErrors
// "<name>:<line>: what was wrong".
class LineReader {
 public:
  LineReader(std::istream& in, std::string name, int64_t max_line_bytes = kDefaultMaxLineBytes);
  // The next line; false at the end of the stream.
  bool next(std::string& line);
  int64_t line_number() const { return line_number_; }
  const std::string& name() const { return name_; }

 private:
  std::istream& in_;
  std::string name_;
  int64_t max_line_bytes_;
  int64_t line_number_ = 0;
};

// Flushes `out` and throws DataError("<name>: write failed: <reason>") when any of what was
// written to it could not be written (a full disk, a closed pipe).
void flush_checked(std::ostream& out, const std::string& name);
// The same for standard output, which is then closed, so that a failure of the last write
// shows too: call it once, after the last output.
void close_stdout_checked();

// 1-based line number of byte `offset` in `text` (counting "\n" line ends).
int64_t line_of_offset(std::string_view text, std::size_t offset);

// Writes `contents` to `path` atomically: to "<path>.tmp" first, then rename, so that a crash
// never leaves a half-written file. Throws DataError on failure.
void write_file_atomically(const std::string& path, std::string_view contents);

}  // namespace ag::data
