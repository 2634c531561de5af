#pragma once
// Reading a whole text file as validated UTF-8.

#include <cstdint>
#include <string>
#include <string_view>

namespace ag::data {

// Reads `path` into memory, drops a leading UTF-8 byte-order mark, and checks that the rest is
// valid UTF-8. Throws DataError: "<path>: cannot open file", or
// "<path>:<line>: invalid UTF-8 at byte offset <n> (the file is not UTF-8 text)".
std::string read_utf8_file(const std::string& path);

// 1-based line number of byte `offset` in `text` (counting "\n" line ends).
int64_t line_of_offset(std::string_view text, std::size_t offset);

// Writes `contents` to `path` atomically: to "<path>.tmp" first, then rename, so that a crash
// never leaves a half-written file. Throws DataError on failure.
void write_file_atomically(const std::string& path, std::string_view contents);

}  // namespace ag::data
