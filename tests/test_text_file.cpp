// Tests of data/text_file.h and of the readers' input checks: lines read one at a time with
// their numbers, the line-length cap, folders, one column named for two roles, and label
// names that mix spellings. Expected messages are written out by hand.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "data/data_error.h"
#include "data/dataset.h"
#include "data/label_map.h"
#include "data/text_file.h"
#include "fixture.h"

namespace fs = std::filesystem;
using namespace ag::data;

TEST_CASE("LineReader: every line, blank ones too, checked and numbered") {
  std::istringstream text("one\r\n\ntwo\nthree");
  LineReader reader(text, "in.txt");
  std::vector<std::string> lines;
  for (std::string line; reader.next(line);) lines.push_back(line);
  CHECK(lines == std::vector<std::string>{"one", "", "two", "three"});
  CHECK(reader.line_number() == 4);

  const auto error_of = [](const std::string& contents, int64_t max_line_bytes) {
    std::istringstream in(contents);
    LineReader reader(in, "in.txt", max_line_bytes);
    try {
      for (std::string line; reader.next(line);) {
      }
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of(std::string("ok\nab\0c\n", 8), 100) ==
        "in.txt:2: NUL byte at byte 3 of the line (not a text file?)");
  CHECK(error_of("ok\nok\ncaf\xE9\n", 100) ==
        "in.txt:3: invalid UTF-8 at byte 4 of the line (not UTF-8 text)");
  // 40,000 bytes: more than one read block, and more than the 30,000 allowed.
  CHECK(error_of("ok\n" + std::string(40000, 'x') + "\n", 30000)
            .rfind("in.txt:2: line longer "
                   "than 30000 bytes",
                   0) == 0);
  CHECK(error_of("ok\n" + std::string(40000, 'x') + "\n", 40000) == "no error");
}

TEST_CASE("read_utf8_file and the readers: line cap, folders, one column for two roles") {
  const fixture::TempDir temp;
  const fs::path& dir = temp.path;
  std::ofstream(dir / "long.tsv") << "sentence\tlabel\n" << std::string(500, 'a') << "\t1\nb\t0\n";
  CHECK_THROWS_WITH_AS(
      read_utf8_file((dir / "long.tsv").string(), 100),
      ((dir / "long.tsv").string() + ":2: line longer than 100 bytes (not a text file? raise "
                                     "--max-line-bytes if it is)")
          .c_str(),
      DataError);
  CHECK(read_utf8_file((dir / "long.tsv").string(), 502).size() == 15 + 503 + 4);
  CHECK_THROWS_WITH_AS(read_utf8_file(dir.string()),
                       (dir.string() + ": is a folder, expected a file").c_str(), DataError);
  TableReadOptions options;
  options.text_column = "label";
  CHECK_THROWS_WITH_AS(read_table((dir / "long.tsv").string(), options),
                       ((dir / "long.tsv").string() +
                        ": the text column and the label column are both \"label\" (choose "
                        "different ones)")
                           .c_str(),
                       DataError);
}

TEST_CASE("LabelMap::mixed_spellings: numbers with words, or one word in two cases") {
  CHECK(LabelMap({"0", "pos"}).mixed_spellings() == "{0, pos}");
  CHECK(LabelMap({"neg", "pos", "POS"}).mixed_spellings() == "{pos, POS}");
  CHECK_FALSE(LabelMap({"0", "1"}).mixed_spellings().has_value());
  CHECK_FALSE(LabelMap({"negative", "positive"}).mixed_spellings().has_value());
}

TEST_CASE("LabelMap::mixed_spellings: one number or one word written two ways") {
  CHECK(LabelMap({"01", "1"}).mixed_spellings() == "{01, 1}");
  CHECK(LabelMap({"+1", "1", "2"}).mixed_spellings() == "{+1, 1}");
  // "café" composed (U+00E9) and decomposed (e + U+0301): one word for a reader.
  CHECK(LabelMap({"caf\xC3\xA9", "cafe\xCC\x81"}).mixed_spellings() ==
        "{caf\xC3\xA9, cafe\xCC\x81}");
  CHECK_FALSE(LabelMap({"-1", "1"}).mixed_spellings().has_value());
  CHECK_FALSE(LabelMap({"caf\xC3\xA9", "cafe"}).mixed_spellings().has_value());
}
