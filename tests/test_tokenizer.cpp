// Tests of data/: the BERT tokenizer.
//
// The expected ids in tests/fixtures/tokenizer/cases.json come from transformers v5's
// BertTokenizer (the fast, Rust one) run on a vocabulary of our own, with the Python
// tokenizer's ids beside them where they differ (tools/reference/make_tokenizer_fixture.py);
// the other expectations are derived by hand in the comments.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <unistd.h>

#include "data/basic_tokenizer.h"
#include "data/bert_tokenizer.h"
#include "data/data_error.h"
#include "data/text_file.h"
#include "data/unicode_utils.h"
#include "data/wordpiece.h"
#include "fixture.h"

namespace fs = std::filesystem;
using ag::data::BasicTokenizer;
using ag::data::BasicTokenizerOptions;
using ag::data::BertTokenizer;
using ag::data::DataError;
using ag::data::Vocabulary;
using ag::data::WordPiece;
using Ids = std::vector<int32_t>;
using Strings = std::vector<std::string>;

namespace {

const std::string kFixtures = std::string(ADAPTGRAD_FIXTURES) + "/tokenizer";
constexpr int kFixtureVersion = 2;

const nlohmann::json& cases() {
  static const nlohmann::json json = [] {
    const nlohmann::json parsed =
        nlohmann::json::parse(ag::data::read_utf8_file(kFixtures + "/cases.json"));
    if (parsed.at("version").get<int>() != kFixtureVersion)
      throw std::runtime_error(
          "tests/fixtures/tokenizer/cases.json has another version: regenerate it with "
          "`python tools/reference/make_tokenizer_fixture.py` and update kFixtureVersion");
    return parsed;
  }();
  return json;
}

using fixture::TempDir;

// A tiny vocabulary for hand-derived WordPiece checks.
Vocabulary tiny_vocabulary() {
  return Vocabulary({"[PAD]",  "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff",
                     "##able", "a",     "##a",   "aff",   "able",   "x",  "##x",
                     ",",      "!",     "'",     "don",   "t",      "é",  "e",
                     "##é",    "中",    "hello", "world"});
}

// The same vocabulary and options with the Python tokenizer's rules.
BertTokenizer legacy_python(const BertTokenizer& tokenizer) {
  ag::data::BertTokenizerOptions options = tokenizer.options();
  options.legacy_python = true;
  return BertTokenizer(tokenizer.vocabulary(), options);
}

// `key` of a fixture case, or `python_key` (the Python tokenizer's value where it differs) for
// the legacy_python rules.
Ids expected_ids(const nlohmann::json& item, const std::string& key, bool python) {
  return (python && item.contains("python_" + key) ? item.at("python_" + key) : item.at(key))
      .get<Ids>();
}

// Returns how many cases the Python rules give other ids for.
int check_fixture_mode(const BertTokenizer& tokenizer, const nlohmann::json& mode_cases) {
  REQUIRE(mode_cases.size() > 100);
  const BertTokenizer python = legacy_python(tokenizer);
  int python_differs = 0;
  for (const auto& item : mode_cases) {
    INFO("case " << item.at("name").get<std::string>());
    const std::string text = item.at("text").get<std::string>();
    CHECK(tokenizer.encode(text).input_ids == expected_ids(item, "ids", false));
    CHECK(python.encode(text).input_ids == expected_ids(item, "ids", true));
    python_differs += item.contains("python_ids");
  }
  return python_differs;
}

}  // namespace

TEST_CASE("fixture: uncased ids equal Hugging Face's BertTokenizer (fast; Python: legacy)") {
  const auto tokenizer = BertTokenizer::from_pretrained(kFixtures + "/uncased");
  CHECK(tokenizer.options().do_lower_case);
  CHECK_FALSE(tokenizer.options().legacy_python);
  CHECK(tokenizer.model_max_length() == 64);
  CHECK(tokenizer.vocab_size() == cases().at("vocab_size").get<int64_t>());
  // Final sigma (greek, greek_final_sigma) and an unassigned code point.
  CHECK(check_fixture_mode(tokenizer, cases().at("uncased")) == 3);
}

TEST_CASE("fixture: cased ids equal Hugging Face's BertTokenizer (fast; Python: legacy)") {
  const auto tokenizer = BertTokenizer::from_pretrained(kFixtures + "/cased");
  CHECK_FALSE(tokenizer.options().do_lower_case);
  // NFC (hangul_jamo, combining_decomposed, combining_stacked, compat_signs) and unassigned.
  CHECK(check_fixture_mode(tokenizer, cases().at("cased")) == 5);
}

TEST_CASE("lower-casing: Greek capital sigma is never final, as in the fast tokenizer") {
  const auto tokenizer = BertTokenizer::from_pretrained(kFixtures + "/uncased");
  // ΟΔΥΣΣΕΥΣ lower-cases to οδυσσευσ (U+03C3 at the end), not οδυσσευς.
  CHECK(tokenizer.tokenize("\u039F\u0394\u03A5\u03A3\u03A3\u0395\u03A5\u03A3") ==
        tokenizer.tokenize("\u03BF\u03B4\u03C5\u03C3\u03C3\u03B5\u03C5\u03C3"));
  CHECK(legacy_python(tokenizer).tokenize("\u039F\u0394\u03A5\u03A3\u03A3\u0395\u03A5\u03A3") ==
        tokenizer.tokenize("\u03BF\u03B4\u03C5\u03C3\u03C3\u03B5\u03C5\u03C2"));
}

TEST_CASE("fixture: a folder with only tokenizer.json gives the same ids") {
  const auto tokenizer = BertTokenizer::from_pretrained(kFixtures + "/json_only");
  CHECK(tokenizer.options().do_lower_case);  // from the BertNormalizer's "lowercase"
  CHECK(tokenizer.vocab_size() == cases().at("vocab_size").get<int64_t>());
  check_fixture_mode(tokenizer, cases().at("uncased"));
}

TEST_CASE("fixture: token strings equal HF's convert_ids_to_tokens") {
  const auto tokenizer = BertTokenizer::from_pretrained(kFixtures + "/uncased");
  for (const auto& item : cases().at("uncased")) {
    INFO("case " << item.at("name").get<std::string>());
    Strings expected = item.at("tokens").get<Strings>();
    expected = Strings(expected.begin() + 1, expected.end() - 1);  // without [CLS] and [SEP]
    CHECK(tokenizer.tokenize(item.at("text").get<std::string>()) == expected);
  }
}

TEST_CASE("fixture: pairs and truncation equal HF (longest first)") {
  const auto tokenizer = BertTokenizer::from_pretrained(kFixtures + "/uncased");
  const BertTokenizer python = legacy_python(tokenizer);
  int pairs = 0, python_differs = 0;
  for (const auto& item : cases().at("pairs")) {
    const std::string text = item.at("text").get<std::string>();
    const int64_t max_length = item.at("max_length").get<int64_t>();
    INFO("text " << text << " max_length " << max_length);
    if (item.contains("text_pair")) {
      const std::string text_pair = item.at("text_pair").get<std::string>();
      const auto encoding = tokenizer.encode_pair(text, text_pair, max_length);
      CHECK(encoding.input_ids == expected_ids(item, "input_ids", false));
      CHECK(encoding.token_type_ids == expected_ids(item, "token_type_ids", false));
      CHECK(encoding.attention_mask == Ids(encoding.input_ids.size(), 1));
      const auto python_encoding = python.encode_pair(text, text_pair, max_length);
      CHECK(python_encoding.input_ids == expected_ids(item, "input_ids", true));
      CHECK(python_encoding.token_type_ids == expected_ids(item, "token_type_ids", true));
      ++pairs;
      python_differs += item.contains("python_input_ids");
    } else {
      CHECK(tokenizer.encode(text, max_length).input_ids == item.at("input_ids").get<Ids>());
    }
  }
  CHECK(pairs == 91);
  CHECK(python_differs == 26);  // the spare id of an odd budget, and the empty text_pair
}

TEST_CASE("fixture: decode equals HF decode") {
  const auto tokenizer = BertTokenizer::from_pretrained(kFixtures + "/uncased");
  for (const auto& item : cases().at("decode")) {
    const Ids ids = item.at("ids").get<Ids>();
    INFO("expected " << item.at("text").get<std::string>());
    CHECK(tokenizer.decode(ids, item.at("skip_special_tokens").get<bool>(),
                           item.at("clean_up").get<bool>()) == item.at("text").get<std::string>());
  }
}

TEST_CASE("WordPiece: greedy longest match, by hand") {
  const Vocabulary vocabulary = tiny_vocabulary();
  const WordPiece wordpiece(vocabulary);
  const auto pieces = [&](std::string_view word) {
    Ids ids;
    wordpiece.tokenize_word(word, ids);
    return ids;
  };
  // "unaffable": longest prefix in the vocabulary is "un" (5); then "##aff" (6), "##able" (7).
  CHECK(pieces("unaffable") == Ids{5, 6, 7});
  // "aff" is a whole word (10): the longest match wins over "a" + "##..."
  CHECK(pieces("aff") == Ids{10});
  // "aaa": "a" (8), then "##a" (9) twice.
  CHECK(pieces("aaa") == Ids{8, 9, 9});
  // "unz": "un" matches but nothing matches "z": the WHOLE word is [UNK] (1), not "un" + [UNK].
  CHECK(pieces("unz") == Ids{1});
  // Multi-byte: "éé" -> "é" (19), "##é" (21); never split inside a UTF-8 sequence.
  CHECK(pieces("\xC3\xA9\xC3\xA9") == Ids{19, 21});
  // 100 code points is still allowed, 101 is [UNK] without looking.
  Ids hundred_x = {12};  // "x", then 99 times "##x"
  hundred_x.insert(hundred_x.end(), 99, 13);
  CHECK(pieces(std::string(100, 'x')) == hundred_x);
  CHECK(pieces(std::string(101, 'x')) == Ids{1});
  CHECK(pieces("") == Ids{});
}

TEST_CASE("BasicTokenizer: the steps, by hand") {
  const BasicTokenizer uncased;
  // Punctuation is split off, ASCII symbols count as punctuation, case is folded.
  CHECK(uncased.tokenize("Don't STOP!! $5") ==
        Strings{"don", "'", "t", "stop", "!", "!", "$", "5"});
  // Accents are stripped (NFD then drop Mn), decomposed input too.
  CHECK(uncased.tokenize("Crème e\xCC\x81") == Strings{"creme", "e"});
  // NUL, U+FFFD, zero-width space (Cf) and BEL are deleted; tab/newline/NBSP split words.
  CHECK(uncased.tokenize(std::string("a\0b\xEF\xBF\xBD"
                                     "c\xE2\x80\x8B"
                                     "d\x07 e\tf\ng\xC2\xA0h",
                                     22)) == Strings{"abcd", "e", "f", "g", "h"});
  // Every CJK ideograph is a word of its own; Hiragana is not an ideograph.
  CHECK(uncased.tokenize("\xE6\x88\x91\xE7\x88\xB1"
                         "ab\xE3\x81\x82") ==
        Strings{"\xE6\x88\x91", "\xE7\x88\xB1", "ab\xE3\x81\x82"});
  CHECK(uncased.tokenize("").empty());
  CHECK(uncased.tokenize(" \t\r\n ").empty());

  BasicTokenizerOptions options;
  options.do_lower_case = false;
  CHECK(BasicTokenizer(options).tokenize("Crème Brûlée") == Strings{"Crème", "Brûlée"});
  options.strip_accents = true;  // cased, but accents stripped
  CHECK(BasicTokenizer(options).tokenize("Crème") == Strings{"Creme"});
  options.do_lower_case = true;
  options.strip_accents = false;  // lower-cased, accents kept
  CHECK(BasicTokenizer(options).tokenize("CRÈME") == Strings{"crème"});

  const BasicTokenizer with_never_split({}, {"[SEP]"});
  CHECK(with_never_split.tokenize("a [SEP] [sep]") == Strings{"a", "[SEP]", "[", "sep", "]"});
}

TEST_CASE("python_lower: the two places where simple case mapping is wrong") {
  namespace uc = ag::data::unicode;
  // U+0130 (İ) lower-cases to "i" + COMBINING DOT ABOVE in Python.
  CHECK(uc::python_lower(U"\u0130") == U"i\u0307");
  // Final sigma: at the end of a word, after a cased letter.
  CHECK(uc::python_lower(U"\u039F\u0394\u039F\u03A3") == U"\u03BF\u03B4\u03BF\u03C2");  // ΟΔΟΣ
  CHECK(uc::python_lower(U"\u03A3") == U"\u03C3");                // alone: not final
  CHECK(uc::python_lower(U"\u03A3\u0391") == U"\u03C3\u03B1");    // before a letter: not final
  CHECK(uc::python_lower(U"\u0391\u03A3.") == U"\u03B1\u03C2.");  // "." is case-ignorable
  CHECK(uc::python_lower(U"\u0391\u03A3'\u0391") == U"\u03B1\u03C3'\u03B1");  // ' is ignorable
  CHECK(uc::python_lower(U"ABC\u212A") == U"abck");                           // KELVIN SIGN -> k
  // The fast tokenizer's lower-casing: the same, but sigma is never final.
  CHECK(uc::lower_each_character(U"\u039F\u0394\u039F\u03A3") == U"\u03BF\u03B4\u03BF\u03C3");
  CHECK(uc::lower_each_character(U"\u0130") == U"i\u0307");
}

TEST_CASE("special tokens written in the text keep their ids") {
  const BertTokenizer tokenizer(tiny_vocabulary());
  // "hello[SEP]world" -> hello, [SEP], world; "[sep]" is ordinary text.
  CHECK(tokenizer.tokenize_to_ids("hello[SEP]world") == Ids{23, 3, 24});
  CHECK(tokenizer.tokenize_to_ids("[CLS][MASK]") == Ids{2, 4});
  CHECK(tokenizer.encode("hello").input_ids == Ids{2, 23, 3});
}

TEST_CASE("invalid UTF-8 is an error with the byte offset, never a crash") {
  const BertTokenizer tokenizer(tiny_vocabulary());
  const std::vector<std::pair<std::string, int>> bad = {
      {"ab\x80", 2},               // a continuation byte cannot start a character
      {"a\xC0\x80", 1},            // overlong encoding of NUL
      {"xy\xED\xA0\x80", 2},       // UTF-16 surrogate D800
      {"\xE2\x82", 0},             // truncated 3-byte sequence
      {"abc\xF5\x80\x80\x80", 3},  // beyond U+10FFFF
      {"\xF4\x90\x80\x80", 0},     // U+110000
      {"ok \xC3\xA9 \xFF", 6},     // after a valid 2-byte character
  };
  for (const auto& [text, offset] : bad) {
    INFO("offset " << offset);
    CHECK(ag::data::unicode::find_invalid_utf8(text) == static_cast<std::size_t>(offset));
    CHECK_THROWS_WITH_AS(
        tokenizer.encode(text),
        doctest::Contains(("invalid UTF-8 at byte offset " + std::to_string(offset)).c_str()),
        DataError);
  }
  CHECK(ag::data::unicode::find_invalid_utf8("\xF0\x9F\x98\x8D ok") == std::string_view::npos);
}

TEST_CASE("decode: by hand") {
  const BertTokenizer tokenizer(tiny_vocabulary());
  // [CLS] un ##aff ##able , don ' t ! [SEP]
  const Ids ids = {2, 5, 6, 7, 14, 17, 16, 18, 15, 3};
  CHECK(tokenizer.decode(ids) == "[CLS] unaffable, don't! [SEP]");
  CHECK(tokenizer.decode(ids, true) == "unaffable, don't!");
  CHECK(tokenizer.decode(ids, true, false) == "unaffable , don ' t !");
  CHECK(tokenizer.decode(Ids{999, -1}) == "[UNK] [UNK]");  // ids outside the vocabulary
}

TEST_CASE("encode: truncation limits, by hand") {
  const BertTokenizer tokenizer(tiny_vocabulary());
  // "a a a a" is 4 word pieces; max_length 4 keeps 2 of them.
  CHECK(tokenizer.encode("a a a a", 4).input_ids == Ids{2, 8, 8, 3});
  CHECK(tokenizer.encode("a a a a", 2).input_ids == Ids{2, 3});
  CHECK_THROWS_AS(tokenizer.encode("a", 1), std::invalid_argument);
  CHECK_THROWS_AS(tokenizer.encode_pair("a", "a", 2), std::invalid_argument);
  // Pair: 4 + 1 pieces, max_length 6 leaves 3: remove 2 from the longer first text.
  const auto pair = tokenizer.encode_pair("a a a a", "x", 6);
  CHECK(pair.input_ids == Ids{2, 8, 8, 3, 12, 3});
  CHECK(pair.token_type_ids == Ids{0, 0, 0, 0, 1, 1});
  // 1 + 4 pieces, max_length 6 leaves 3 to share: the shorter "x" keeps its piece, the longer
  // second text the 2 left.
  CHECK(tokenizer.encode_pair("x", "a a a a", 6).input_ids == Ids{2, 12, 3, 8, 8, 3});
  // 3 + 3 pieces, 5 to share: 2 for the first text, 3 for the second (Python: 3 and 2).
  CHECK(tokenizer.encode_pair("a a a", "x x x", 8).input_ids == Ids{2, 8, 8, 3, 12, 12, 12, 3});
  CHECK(legacy_python(tokenizer).encode_pair("a a a", "x x x", 8).input_ids ==
        Ids{2, 8, 8, 8, 3, 12, 12, 3});
  // An empty second text is no pair at all (Python: "[CLS] a [SEP] [SEP]").
  CHECK(tokenizer.encode_pair("a", "").input_ids == Ids{2, 8, 3});
  const auto batch = tokenizer.encode_batch({"hello", "a a"});
  REQUIRE(batch.size() == 2);
  CHECK(batch[1].input_ids == Ids{2, 8, 8, 3});
}

TEST_CASE("vocab.txt: every line ending, repeated tokens keep the last id") {
  const TempDir dir;
  // "\r\n", "\r" and "\n" all end a line; "b" appears on lines 1 and 3 -> id 3.
  const Vocabulary vocabulary =
      Vocabulary::from_vocab_txt(dir.write("vocab.txt", "a\r\nb\rc\nb\n[UNK]"));
  CHECK(vocabulary.size() == 5);
  CHECK(vocabulary.id_of("a") == 0);
  CHECK(vocabulary.id_of("b") == 3);
  CHECK(vocabulary.token_of(1) == "b");
  CHECK(vocabulary.id_of("[UNK]") == 4);
  CHECK(vocabulary.id_of("zzz") == -1);
  CHECK_THROWS_AS(vocabulary.token_of(5), std::out_of_range);
}

TEST_CASE("from_pretrained: bad folders are clear errors") {
  const TempDir dir;
  CHECK_THROWS_WITH_AS(BertTokenizer::from_pretrained(dir.path.string()),
                       doctest::Contains("no vocab.txt or tokenizer.json"), DataError);
  dir.write("vocab.txt", "[CLS]\n[SEP]\nhello\n");
  CHECK_THROWS_WITH_AS(BertTokenizer::from_pretrained(dir.path.string()),
                       doctest::Contains("no unknown token \"[UNK]\""), DataError);
  dir.write("vocab.txt", "[UNK]\n[CLS]\n[SEP]\n");
  dir.write("tokenizer_config.json", "{\"do_lower_case\": \"yes\"}");
  CHECK_THROWS_WITH_AS(BertTokenizer::from_pretrained(dir.path.string()),
                       doctest::Contains("\"do_lower_case\" is not true/false"), DataError);
  dir.write("tokenizer_config.json", "{\"do_lower_case\": false,");
  CHECK_THROWS_WITH_AS(BertTokenizer::from_pretrained(dir.path.string()),
                       doctest::Contains("tokenizer_config.json: not valid JSON"), DataError);
  dir.write("vocab.txt", "[UNK]\n\xFF\n");
  CHECK_THROWS_WITH_AS(BertTokenizer::from_pretrained(dir.path.string()),
                       doctest::Contains("vocab.txt:2: invalid UTF-8 at byte offset 6"), DataError);

  const TempDir json_dir;
  json_dir.write("tokenizer.json", R"({"model": {"type": "BPE", "vocab": {}}})");
  CHECK_THROWS_WITH_AS(BertTokenizer::from_pretrained(json_dir.path.string()),
                       doctest::Contains("expected \"WordPiece\""), DataError);
  json_dir.write("tokenizer.json", R"({"model": {"vocab": {"[UNK]": 0, "[CLS]": 2}}})");
  CHECK_THROWS_WITH_AS(BertTokenizer::from_pretrained(json_dir.path.string()),
                       doctest::Contains("no token has id 1"), DataError);
}

TEST_CASE("character classes, by hand (tools/compare_tokenizer.py checks all code points)") {
  namespace uc = ag::data::unicode;
  CHECK(uc::is_bert_punctuation(U'$'));             // ASCII symbol: punctuation for BERT
  CHECK(uc::is_bert_punctuation(U'\u00BF'));        // ¿ (Po)
  CHECK(uc::is_bert_punctuation(U'\u2014'));        // em dash (Pd)
  CHECK_FALSE(uc::is_bert_punctuation(U'\u20AC'));  // € is a symbol (Sc)
  CHECK(uc::is_bert_control(U'\u200B'));            // zero-width space (Cf)
  CHECK(uc::is_bert_control(U'\uE000'));            // private use (Co)
  CHECK(uc::is_bert_control(U'\u0378'));            // unassigned (Cn)
  CHECK_FALSE(uc::is_bert_control(U'\t'));
  CHECK(uc::is_bert_whitespace(U'\u3000'));        // ideographic space (Zs)
  CHECK_FALSE(uc::is_bert_whitespace(U'\u2028'));  // line separator is Zl, not Zs...
  CHECK(uc::is_python_space(U'\u2028'));           // ...but str.split() splits on it
  CHECK(uc::is_cjk_ideograph(U'\u4E2D'));          // 中
  CHECK_FALSE(uc::is_cjk_ideograph(U'\u3042'));    // あ (Hiragana)
  CHECK_FALSE(uc::is_cjk_ideograph(U'\uAC00'));    // 가 (Hangul)
  CHECK(uc::is_nonspacing_mark(U'\u0301'));
  CHECK(uc::nfd(U"\u00E9") == U"e\u0301");
  CHECK(uc::nfc(U"e\u0301") == U"\u00E9");
  CHECK(uc::nfd(U"\uAC01") == U"\u1100\u1161\u11A8");  // Hangul syllables decompose to jamo
}
