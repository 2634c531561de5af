#include "data/text_file.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <vector>

#include "core/errors.h"
#include "data/data_error.h"
#include "data/unicode_utils.h"

namespace ag::data {

namespace {

std::string too_long(int64_t max_line_bytes) {
  return "line longer than " + std::to_string(max_line_bytes) +
         " bytes (not a text file? raise --max-line-bytes if it is)";
}

// `text` without a leading UTF-8 byte-order mark; DataError if the rest is not valid UTF-8.
std::string checked_utf8(std::string text, const std::string& path) {
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  std::size_t skipped = 0;
  if (std::string_view(text).substr(0, 3) == kByteOrderMark) {
    text.erase(0, 3);
    skipped = 3;
  }
  const std::size_t bad = unicode::find_invalid_utf8(text);
  if (bad != std::string_view::npos) {
    throw DataError(path + ":" + std::to_string(line_of_offset(text, bad)) +
                    ": invalid UTF-8 at byte offset " + std::to_string(bad + skipped) +
                    " (the file is not UTF-8 text)");
  }
  return text;
}

}  // namespace

std::ifstream open_text_input(const std::string& path) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored))
    throw DataError(path + ": is a folder, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open file");
  return in;
}

std::string read_utf8_file(const std::string& path, int64_t max_line_bytes) {
  std::ifstream in = open_text_input(path);
  // Read in blocks, measuring the current line as it grows, so that a file without line
  // breaks stops at max_line_bytes instead of filling the memory.
  std::string text;
  std::vector<char> block(1 << 16);
  int64_t line_start = 0;
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    const std::size_t got = static_cast<std::size_t>(in.gcount());
    const std::size_t old_size = text.size();
    text.append(block.data(), got);
    for (std::size_t end = text.find('\n', old_size);; end = text.find('\n', end + 1)) {
      const int64_t line_end = end == std::string::npos ? int64_t(text.size()) : int64_t(end);
      if (line_end - line_start > max_line_bytes)
        throw DataError(path + ":" + std::to_string(line_of_offset(text, size_t(line_start))) +
                        ": " + too_long(max_line_bytes));
      if (end == std::string::npos) break;
      line_start = line_end + 1;
    }
  }
  if (in.bad()) throw DataError(path + ": read error");
  return checked_utf8(std::move(text), path);
}

std::string read_utf8_input_file(const std::string& path, const FileKind& kind) {
  std::string text;
  try {
    text = read_file(path, kind);
  } catch (const Error& e) {
    throw DataError(e.what());  // the one exception type of data/
  }
  return checked_utf8(std::move(text), path);
}

int64_t line_of_offset(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n');
}

void write_file_atomically(const std::string& path, std::string_view contents) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw DataError(temporary + ": cannot open file for writing");
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) {
      std::remove(temporary.c_str());
      throw DataError(temporary + ": write failed");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw DataError(path + ": cannot rename " + temporary + " into place");
  }
}

LineReader::LineReader(std::istream& in, std::string name, int64_t max_line_bytes)
    : in_(in), name_(std::move(name)), max_line_bytes_(max_line_bytes) {}

bool LineReader::next(std::string& line) {
  line.clear();
  const auto where = [&] { return name_ + ":" + std::to_string(line_number_) + ": "; };
  char block[1 << 14];
  bool got_any = false;
  for (;;) {
    in_.getline(block, sizeof block);
    const std::size_t extracted = static_cast<std::size_t>(in_.gcount());
    if (in_.bad()) throw DataError(name_ + ": read error");
    const bool block_full = in_.fail() && !in_.eof() && extracted == sizeof block - 1;
    if (extracted == 0 && !block_full && !in_.good() && !got_any) return false;
    if (!got_any) ++line_number_;
    got_any = true;
    // A "\n" was extracted (and counted) unless the block filled up or the stream ended.
    const std::size_t stored = block_full || in_.eof() ? extracted : extracted - 1;
    if (const void* nul = std::memchr(block, '\0', stored)) {
      const std::size_t at = line.size() + std::size_t(static_cast<const char*>(nul) - block);
      throw DataError(where() + "NUL byte at byte " + std::to_string(at + 1) +
                      " of the line (not a text file?)");
    }
    line.append(block, stored);
    if (static_cast<int64_t>(line.size()) > max_line_bytes_)
      throw DataError(where() + too_long(max_line_bytes_));
    if (!block_full) break;
    in_.clear();  // the line goes on
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const std::size_t bad = unicode::find_invalid_utf8(line);
  if (bad != std::string_view::npos)
    throw DataError(where() + "invalid UTF-8 at byte " + std::to_string(bad + 1) +
                    " of the line (not UTF-8 text)");
  return true;
}

void flush_checked(std::ostream& out, const std::string& name) {
  errno = 0;
  out.flush();
  if (!out)
    throw DataError(name + ": write failed: " +
                    (errno ? std::strerror(errno) : "the output stream is in an error state"));
}

void close_stdout_checked() {
  flush_checked(std::cout, "stdout");
  if (std::fclose(stdout) != 0)
    throw DataError(std::string("stdout: write failed: ") + std::strerror(errno));
}

}  // namespace ag::data
