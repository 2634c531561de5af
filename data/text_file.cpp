#include "data/text_file.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "data/data_error.h"
#include "data/unicode_utils.h"

namespace ag::data {

std::string read_utf8_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw DataError(path + ": read error");
  std::string text = std::move(buffer).str();

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

}  // namespace ag::data
