// Tests of data/: dataset readers, label maps, splits, batching, the synthetic demo task and the
// Pang & Lee polarity reader. Every file is written by the test itself; expected values are
// derived by hand in the comments.

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include "data/bert_tokenizer.h"
#include "data/data_error.h"
#include "data/data_loader.h"
#include "data/dataset.h"
#include "data/delimited_text.h"
#include "data/demo_task.h"
#include "data/label_map.h"
#include "data/polarity_corpus.h"
#include "data/random.h"
#include "data/splits.h"
#include "fixture.h"

namespace fs = std::filesystem;
using namespace ag::data;
using Ids = std::vector<int32_t>;
using Strings = std::vector<std::string>;

namespace {

DataLoaderOptions loader_options(int64_t batch_size, bool shuffle, uint64_t seed = 0) {
  DataLoaderOptions options;
  options.batch_size = batch_size;
  options.shuffle = shuffle;
  options.seed = seed;
  return options;
}

using fixture::TempDir;

Strings texts_of(const Dataset& dataset) {
  Strings texts;
  for (const Example& example : dataset.examples) texts.push_back(example.text);
  return texts;
}

Ids labels_of(const Dataset& dataset) {
  Ids labels;
  for (const Example& example : dataset.examples) labels.push_back(example.label);
  return labels;
}

// n examples whose text is their index and whose input length is 2 + (index % 7).
std::vector<EncodedExample> numbered_examples(int n) {
  std::vector<EncodedExample> examples;
  for (int i = 0; i < n; ++i) {
    EncodedExample example;
    example.input_ids.assign(static_cast<std::size_t>(2 + i % 7), 1000 + i);
    example.token_type_ids.assign(example.input_ids.size(), 0);
    example.label = i % 2;
    examples.push_back(example);
  }
  return examples;
}

}  // namespace

TEST_CASE("SplitMix64 gives the numbers of the reference implementation (Vigna's splitmix64.c)") {
  // The first outputs of splitmix64.c seeded with 0, as published with it.
  const uint64_t reference[] = {0xe220a8397b1dcdafull, 0x6e789e6aa1b965f4ull, 0x06c45d188009454full,
                                0xf88bb8a8724c81ecull};
  SplitMix64 stream(0);
  for (uint64_t n = 0; n < 4; ++n) {
    CHECK(stream.next() == reference[n]);
    // The counter form: number n of the stream seeded with 0 is the hash of n * increment.
    CHECK(ag::splitmix64(n * ag::kSplitMix64Increment) == reference[n]);
  }
  // below(10) scales next() / 2^64 to [0, 10): 0xe220.../2^64 = 0.88..., 0x6e78.../2^64 = 0.43...
  SplitMix64 again(0);
  CHECK(again.below(10) == 8);
  CHECK(again.below(10) == 4);
}

TEST_CASE("TSV: header, columns by name, integer labels keep their value") {
  const TempDir dir;
  const std::string path = dir.write("train.tsv",
                                     "sentence\tlabel\n"
                                     "a fine film \t1\n"
                                     "dull\t0\n"
                                     "\n"  // blank lines are skipped
                                     "quoted \"text\" stays as is\t1\n");
  const Dataset dataset = read_table(path, TableReadOptions::tsv());
  CHECK(texts_of(dataset) == Strings{"a fine film ", "dull", "quoted \"text\" stays as is"});
  CHECK(labels_of(dataset) == Ids{1, 0, 1});
  CHECK(dataset.labels.names() == Strings{"0", "1"});
  CHECK(dataset.examples[2].line == 5);
  CHECK(dataset.label_counts() == std::vector<int64_t>{1, 2});
  CHECK_FALSE(dataset.has_text_pair);
}

TEST_CASE("CSV: RFC 4180 quoting, CRLF, byte-order mark, multi-line records") {
  const TempDir dir;
  const std::string path = dir.write("data.csv",
                                     "\xEF\xBB\xBFid,review,verdict\r\n"
                                     "1,\"commas, inside\",good\r\n"
                                     "2,\"doubled \"\"quotes\"\"\",bad\r\n"
                                     "3,\"two\nlines\",good\r\n"
                                     "4,plain,bad");  // no line break at the end
  TableReadOptions options = TableReadOptions::csv();
  options.text_column = "review";
  options.label_column = "verdict";
  const Dataset dataset = read_table(path, options);
  CHECK(texts_of(dataset) ==
        Strings{"commas, inside", "doubled \"quotes\"", "two\nlines", "plain"});
  // String labels are sorted: bad -> 0, good -> 1.
  CHECK(dataset.labels.names() == Strings{"bad", "good"});
  CHECK(labels_of(dataset) == Ids{1, 0, 1, 0});
  // Record 3 spans lines 4 and 5, so record 4 starts on line 6.
  CHECK(dataset.examples[2].line == 4);
  CHECK(dataset.examples[3].line == 6);
}

TEST_CASE("CSV: a second text column for pair tasks, and a given label set") {
  const TempDir dir;
  const std::string path = dir.write("pairs.csv",
                                     "premise,hypothesis,label\n"
                                     "a man sleeps,a person rests,entailment\n"
                                     "a cat,a dog,contradiction\n");
  TableReadOptions options = TableReadOptions::csv();
  options.text_column = "premise";
  options.text_pair_column = "hypothesis";
  options.labels = LabelMap({"entailment", "neutral", "contradiction"});
  const Dataset dataset = read_table(path, options);
  CHECK(dataset.has_text_pair);
  CHECK(dataset.examples[0].text_pair == "a person rests");
  CHECK(labels_of(dataset) == Ids{0, 2});  // ids from the given map, not re-sorted
  CHECK(dataset.labels.size() == 3);
}

TEST_CASE("JSONL: chosen keys, integer and string labels") {
  const TempDir dir;
  const std::string path = dir.write("data.jsonl",
                                     "{\"review\": \"great \\u00e9\", \"stars\": 5}\n"
                                     "\n"
                                     "{\"review\": \"poor\", \"stars\": 1}\n"
                                     "{\"review\": \"ok\", \"stars\": \"3\"}\n");
  JsonlReadOptions options;
  options.text_key = "review";
  options.label_key = "stars";
  const Dataset dataset = read_jsonl(path, options);
  CHECK(texts_of(dataset) == Strings{"great \xC3\xA9", "poor", "ok"});
  CHECK(dataset.labels.names() == Strings{"1", "3", "5"});
  CHECK(labels_of(dataset) == Ids{2, 0, 1});
  CHECK(dataset.examples[1].line == 3);
}

TEST_CASE("bad rows: file:line errors, or counted with skip_bad_rows") {
  const TempDir dir;
  const std::string path = dir.write("bad.tsv",
                                     "sentence\tlabel\n"
                                     "good row\t1\n"
                                     "too\tmany\tfields\n"
                                     "missing label\t\n"
                                     "fine\t0\n");
  CHECK_THROWS_WITH_AS(
      read_table(path, TableReadOptions::tsv()),
      doctest::Contains("bad.tsv:3: expected 2 fields (as many as columns), found 3"), DataError);
  TableReadOptions skip = TableReadOptions::tsv();
  skip.skip_bad_rows = true;
  const Dataset dataset = read_table(path, skip);
  CHECK(texts_of(dataset) == Strings{"good row", "fine"});
  CHECK(dataset.bad_rows_skipped == 2);
  REQUIRE(dataset.bad_row_messages.size() == 2);
  CHECK(dataset.bad_row_messages[1].find("bad.tsv:4: empty label") != std::string::npos);
}

TEST_CASE("bad rows: broken CSV quoting") {
  const TempDir dir;
  TableReadOptions options = TableReadOptions::csv();
  const std::string after_quote = dir.write("q1.csv", "sentence,label\n\"ok\",1\n\"bad\"x,0\n");
  CHECK_THROWS_WITH_AS(
      read_table(after_quote, options),
      doctest::Contains("q1.csv:3: unexpected character 'x' after a closing quote"), DataError);
  const std::string unterminated =
      dir.write("q2.csv", "sentence,label\n\"ok\",1\n\"never\nclosed,0\n");
  CHECK_THROWS_WITH_AS(read_table(unterminated, options),
                       doctest::Contains("q2.csv:3: quoted field opened on line 3 is never closed"),
                       DataError);
  options.skip_bad_rows = true;
  const Dataset dataset = read_table(after_quote, options);
  CHECK(dataset.size() == 1);
  CHECK(dataset.bad_rows_skipped == 1);
}

TEST_CASE("bad rows: JSONL") {
  const TempDir dir;
  const std::string path = dir.write("bad.jsonl",
                                     "{\"text\": \"a\", \"label\": 1}\n"
                                     "{\"text\": \"b\", \"label\": \n"
                                     "{\"text\": 3, \"label\": 1}\n"
                                     "{\"label\": 0}\n"
                                     "[1, 2]\n"
                                     "{\"text\": \"c\", \"label\": 1.5}\n");
  CHECK_THROWS_WITH_AS(read_jsonl(path, {}), doctest::Contains("bad.jsonl:2: not valid JSON"),
                       DataError);
  JsonlReadOptions skip;
  skip.skip_bad_rows = true;
  const Dataset dataset = read_jsonl(path, skip);
  CHECK(dataset.size() == 1);
  CHECK(dataset.bad_rows_skipped == 5);
  CHECK(dataset.bad_row_messages[1] == path + ":3: \"text\" is not a string");
  CHECK(dataset.bad_row_messages[2] == path + ":4: no key \"text\"");
  CHECK(dataset.bad_row_messages[3] == path + ":5: expected a JSON object {...}");
  CHECK(dataset.bad_row_messages[4] ==
        path + ":6: \"label\" is not an integer or a non-empty string");
}

TEST_CASE("a label column that does not exist") {
  const TempDir dir;
  const std::string path = dir.write("d.tsv", "sentence\tpolarity\nhello\t1\n");
  CHECK_THROWS_WITH_AS(
      read_table(path, TableReadOptions::tsv()),
      doctest::Contains("d.tsv:1: no column \"label\" (the columns are: sentence, polarity)"),
      DataError);
}

TEST_CASE("a label outside the known set") {
  const TempDir dir;
  const std::string path = dir.write("dev.tsv", "sentence\tlabel\nfine\t1\nodd\t2\n");
  TableReadOptions options = TableReadOptions::tsv();
  options.labels = LabelMap({"0", "1"});
  CHECK_THROWS_WITH_AS(
      read_table(path, options),
      doctest::Contains("dev.tsv:3: label \"2\" is not one of the known labels {0, 1}"), DataError);
  options.skip_bad_rows = true;
  CHECK(read_table(path, options).bad_rows_skipped == 1);
}

TEST_CASE("an empty dataset") {
  const TempDir dir;
  CHECK_THROWS_WITH_AS(read_table(dir.write("empty.tsv", ""), TableReadOptions::tsv()),
                       doctest::Contains("empty.tsv: no examples (the file is empty)"), DataError);
  CHECK_THROWS_WITH_AS(
      read_table(dir.write("header.tsv", "sentence\tlabel\n"), TableReadOptions::tsv()),
      doctest::Contains("header.tsv: no examples (no data rows)"), DataError);
  CHECK_THROWS_WITH_AS(read_jsonl(dir.write("blank.jsonl", "\n\n"), {}),
                       doctest::Contains("blank.jsonl: no examples"), DataError);
  TableReadOptions skip = TableReadOptions::tsv();
  skip.skip_bad_rows = true;
  CHECK_THROWS_WITH_AS(read_table(dir.write("allbad.tsv", "sentence\tlabel\nx\n"), skip),
                       doctest::Contains("no examples (all 1 rows were bad)"), DataError);
}

TEST_CASE("a file that is not UTF-8, and a file that does not exist") {
  const TempDir dir;
  // Latin-1 "café": the lone byte 0xE9 is on line 3, after 15 + 5 + 3 = 23 bytes.
  const std::string path = dir.write("latin1.tsv", "sentence\tlabel\nok\t1\ncaf\xE9\t0\n");
  CHECK_THROWS_WITH_AS(read_table(path, TableReadOptions::tsv()),
                       doctest::Contains("latin1.tsv:3: invalid UTF-8 at byte offset 23"),
                       DataError);
  CHECK_THROWS_WITH_AS(read_jsonl((dir.path / "missing.jsonl").string(), {}),
                       doctest::Contains("missing.jsonl: cannot open file"), DataError);
}

TEST_CASE("delimited text: the parser on its own") {
  const auto records = parse_delimited("a,\"b\"\"c\",\r\n\r\n,\"\"\n", ',', true);
  REQUIRE(records.size() == 2);
  CHECK(records[0].fields == Strings{"a", "b\"c", ""});
  CHECK(records[1].fields == Strings{"", ""});
  CHECK(records[1].line == 3);
  const auto unquoted = parse_delimited("x\t\"y\n", '\t', false);
  CHECK(unquoted[0].fields == Strings{"x", "\"y"});
}

TEST_CASE("LabelMap: names with the values the data writes (polarity -1/1, SST-2 0/1)") {
  const LabelMap polarity({"negative", "positive"}, {"-1", "1"});
  CHECK(polarity.find("-1") == 0);
  CHECK(polarity.find("positive") == 1);
  CHECK(polarity.data_value(0) == "-1");
  CHECK(LabelMap::from_json(polarity.to_json()) == polarity);
  CHECK(polarity.to_json().find("\"data_labels\": {\n    \"0\": \"-1\",\n    \"1\": \"1\"\n  }") !=
        std::string::npos);
  // A value may not stand for another label, by name or by value.
  CHECK_THROWS_AS(LabelMap({"0", "1"}, {"1", "0"}), std::invalid_argument);
  CHECK_THROWS_AS(LabelMap({"a", "b"}, {"x", "x"}), std::invalid_argument);
  CHECK_THROWS_WITH_AS(
      LabelMap::from_json(R"({"id2label": {"0": "a", "1": "b"}, "data_labels": {"0": "b",
        "1": "c"}})",
                          "l.json"),
      doctest::Contains("l.json: label \"b\" stands for two labels"), DataError);
  const LabelMap zero_one({"0", "1"});
  CHECK(with_known_names(zero_one, "../shared/data/sst2/train.tsv").names() ==
        Strings{"negative", "positive"});
  CHECK(with_known_names(zero_one, "glue/SST-2/dev.tsv").find("0") == 0);
  CHECK(with_known_names(zero_one, "data/cola/train.tsv") == zero_one);  // meaning unknown
  CHECK(with_known_names(LabelMap({"0", "1", "2"}), "sst2/x.tsv").names() ==
        Strings{"0", "1", "2"});
}

TEST_CASE("LabelMap: ordering, JSON round trip, errors") {
  CHECK(LabelMap::from_values({"10", "-1", "2", "1", "2"}).names() ==
        Strings{"-1", "1", "2", "10"});
  CHECK(LabelMap::from_values({"pos", "neg", "10"}).names() == Strings{"10", "neg", "pos"});
  const LabelMap labels({"negative", "positive"});
  CHECK(labels.find("positive") == 1);
  CHECK_FALSE(labels.find("neutral").has_value());
  CHECK(labels.to_json() ==
        "{\n  \"id2label\": {\n    \"0\": \"negative\",\n    \"1\": \"positive\"\n  },\n"
        "  \"label2id\": {\n    \"negative\": 0,\n    \"positive\": 1\n  }\n}\n");
  CHECK(LabelMap::from_json(labels.to_json()) == labels);
  const TempDir dir;
  const std::string path = (dir.path / "labels.json").string();
  labels.save(path);
  CHECK(LabelMap::load(path) == labels);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  CHECK_THROWS_AS(LabelMap({"a", "a"}), std::invalid_argument);
  CHECK_THROWS_WITH_AS(
      LabelMap::from_json("{\"id2label\": {\"0\": \"a\", \"2\": \"b\"}}", "x.json"),
      doctest::Contains("x.json: id2label needs ids 0..1"), DataError);
  CHECK_THROWS_AS(LabelMap::from_json("[]"), DataError);
}

TEST_CASE("stratified split: exact counts, deterministic, disjoint") {
  Dataset dataset;
  dataset.source = "numbers";
  dataset.labels = LabelMap({"0", "1"});
  for (int i = 0; i < 100; ++i)  // 60 of label 0, 40 of label 1
    dataset.examples.push_back({std::to_string(i), "", i < 60 ? 0 : 1, i + 1});

  const DatasetSplits splits = stratified_split(dataset, 0.1, 0.2, 7);
  // Label 0: round(6) validation, round(12) test, 42 train; label 1: 4, 8, 28.
  CHECK(splits.validation.label_counts() == std::vector<int64_t>{6, 4});
  CHECK(splits.test.label_counts() == std::vector<int64_t>{12, 8});
  CHECK(splits.train.label_counts() == std::vector<int64_t>{42, 28});

  std::multiset<std::string> all;
  for (const Dataset* part : {&splits.train, &splits.validation, &splits.test})
    for (const Example& example : part->examples) all.insert(example.text);
  CHECK(all.size() == 100);
  CHECK(std::set<std::string>(all.begin(), all.end()).size() == 100);
  // Each split keeps file order.
  CHECK(std::is_sorted(splits.train.examples.begin(), splits.train.examples.end(),
                       [](const Example& a, const Example& b) { return a.line < b.line; }));

  CHECK(texts_of(stratified_split(dataset, 0.1, 0.2, 7).validation) == texts_of(splits.validation));
  CHECK(texts_of(stratified_split(dataset, 0.1, 0.2, 8).validation) != texts_of(splits.validation));
  CHECK_THROWS_AS(stratified_split(dataset, 0.6, 0.4, 0), std::invalid_argument);
  CHECK_THROWS_AS(stratified_split(dataset, -0.1, 0.0, 0), std::invalid_argument);
}

TEST_CASE("DataLoader: padding, masks, the last partial batch") {
  DataLoader loader(numbered_examples(10), loader_options(4, false));
  REQUIRE(loader.num_batches() == 3);
  const Batch first = loader.batch(0);
  // Examples 0..3 have lengths 2, 3, 4, 5: seq_len 5.
  CHECK(first.batch_size == 4);
  CHECK(first.seq_len == 5);
  CHECK(first.example_indices == std::vector<int64_t>{0, 1, 2, 3});
  CHECK(first.labels == Ids{0, 1, 0, 1});
  CHECK(Ids(first.input_ids.begin(), first.input_ids.begin() + 5) == Ids{1000, 1000, 0, 0, 0});
  CHECK(Ids(first.attention_mask.begin(), first.attention_mask.begin() + 5) == Ids{1, 1, 0, 0, 0});
  CHECK(Ids(first.attention_mask.begin() + 15, first.attention_mask.end()) == Ids{1, 1, 1, 1, 1});
  const Batch last = loader.batch(2);
  CHECK(last.batch_size == 2);  // 10 = 4 + 4 + 2: kept
  CHECK(last.seq_len == 4);     // examples 8, 9 have lengths 3 and 4
  CHECK(last.input_ids.size() == 8);
  CHECK_THROWS_AS(loader.batch(3), std::out_of_range);
  CHECK_THROWS_AS(DataLoader({}, loader_options(0, false)), std::invalid_argument);
}

TEST_CASE("DataLoader: every example once per epoch, seeded shuffles") {
  DataLoader loader(numbered_examples(23), loader_options(5, true, 3));
  const auto epoch_order = [&](int64_t epoch) {
    loader.set_epoch(epoch);
    std::vector<int64_t> order;
    for (const Batch& batch : loader)
      order.insert(order.end(), batch.example_indices.begin(), batch.example_indices.end());
    return order;
  };
  const std::vector<int64_t> epoch0 = epoch_order(0), epoch1 = epoch_order(1);
  std::vector<int64_t> sorted = epoch0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> expected(23);
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(sorted == expected);
  CHECK(epoch0 != expected);
  CHECK(epoch0 != epoch1);
  CHECK(epoch_order(0) == epoch0);
  DataLoader same_seed(numbered_examples(23), loader_options(5, true, 3));
  CHECK(same_seed.batch(0).example_indices ==
        std::vector<int64_t>(epoch0.begin(), epoch0.begin() + 5));
}

TEST_CASE("DataLoader: bucketing by length cuts padding") {
  const auto padded_cells = [](const DataLoader& loader) {
    int64_t cells = 0;
    for (const Batch& batch : loader) cells += batch.batch_size * batch.seq_len;
    return cells;
  };
  const DataLoader plain(numbered_examples(70), loader_options(5, true, 1));
  DataLoaderOptions bucketing = loader_options(5, true, 1);
  bucketing.bucket_by_length = true;
  bucketing.batches_per_bucket = 14;
  const DataLoader bucketed(numbered_examples(70), bucketing);
  // Lengths are 2..8, ten of each. One bucket of 14 batches holds all 70; sorted, every batch
  // of 5 has a single length, so the cells are exactly the 10 * (2 + 3 + ... + 8) = 350 real
  // tokens: no padding at all.
  CHECK(padded_cells(bucketed) == 350);
  CHECK(padded_cells(plain) > 350);
  std::vector<int64_t> seen;
  for (const Batch& batch : bucketed)
    seen.insert(seen.end(), batch.example_indices.begin(), batch.example_indices.end());
  CHECK(std::set<int64_t>(seen.begin(), seen.end()).size() == 70);
}

TEST_CASE("encode_dataset and the loader with a real tokenizer") {
  const auto tokenizer =
      BertTokenizer::from_pretrained(std::string(ADAPTGRAD_FIXTURES) + "/tokenizer/uncased");
  Dataset dataset = make_synthetic_sentiment(6, 0);
  dataset.has_text_pair = true;
  for (Example& example : dataset.examples) example.text_pair = "the plot";
  const auto encoded = encode_dataset(dataset, tokenizer, 12);
  for (const EncodedExample& example : encoded) {
    CHECK(example.input_ids.size() <= 12);
    CHECK(example.input_ids.front() == tokenizer.cls_id());
    CHECK(example.input_ids.back() == tokenizer.sep_id());
    CHECK(example.token_type_ids.back() == 1);
  }
  DataLoaderOptions options = loader_options(4, false);
  options.pad_token_id = tokenizer.pad_id();
  DataLoader loader(encoded, options);
  const Batch batch = loader.batch(0);
  CHECK(batch.labels == Ids{0, 1, 0, 1});
  CHECK(batch.token_type_ids.size() == batch.input_ids.size());

  Dataset broken;
  broken.source = "broken.tsv";
  broken.examples.push_back({"bad \xFF", "", 0, 7});
  CHECK_THROWS_WITH_AS(encode_dataset(broken, tokenizer, 0),
                       doctest::Contains("broken.tsv:7: text: invalid UTF-8 at byte offset 4"),
                       DataError);
}

TEST_CASE("demo task: synthetic, deterministic, balanced") {
  const Dataset a = make_synthetic_sentiment(200, 5), b = make_synthetic_sentiment(200, 5);
  CHECK(texts_of(a) == texts_of(b));
  CHECK(texts_of(a) != texts_of(make_synthetic_sentiment(200, 6)));
  CHECK(a.source.find("synthetic") != std::string::npos);
  CHECK(a.source.find("NOT real data") != std::string::npos);
  CHECK(a.labels.names() == Strings{"negative", "positive"});
  CHECK(a.label_counts() == std::vector<int64_t>{100, 100});
  const Strings texts = texts_of(a);
  const std::set<std::string> distinct(texts.begin(), texts.end());
  CHECK(distinct.size() > 150);
  for (const Example& example : a.examples) CHECK(example.text.ends_with(" ."));
  CHECK_THROWS_AS(make_synthetic_sentiment(0), std::invalid_argument);
}

TEST_CASE("Pang & Lee polarity corpus: the python3-pattern CSV format") {
  const TempDir dir;
  // Byte-order mark, no header, CRLF between records, "label","sentence \n" quoted.
  const std::string path =
      dir.write("polarity-en-pang&lee2.csv",
                "\xEF\xBB\xBF\"1\",\"the rock is destined to be the 21st century's new \"\" conan "
                "\"\" . \n\"\r\n"
                "\"-1\",\"it all feels like a monty python sketch gone horribly wrong . \n\"");
  const Dataset dataset = read_pang_lee_polarity(path);
  REQUIRE(dataset.size() == 2);
  CHECK(dataset.examples[0].text ==
        "the rock is destined to be the 21st century's new \" conan \" .");
  CHECK(dataset.examples[1].text ==
        "it all feels like a monty python sketch gone horribly wrong .");
  CHECK(labels_of(dataset) == Ids{1, 0});
  // Named as the corpus means them; "-1" and "1" still read as their ids.
  CHECK(dataset.labels.names() == Strings{"negative", "positive"});
  CHECK(dataset.labels.find("-1") == 0);
  CHECK(dataset.labels.find("1") == 1);
  CHECK(dataset.labels.find("negative") == 0);
  CHECK(dataset.labels.describe() == "{negative (-1), positive (1)}");
  CHECK(dataset.examples[1].line == 3);  // the first record spans lines 1-2

  const std::string bad =
      dir.write("bad.csv", "\"1\",\"fine\"\r\n\"0\",\"zero is not a label\"\r\n");
  CHECK_THROWS_WITH_AS(
      read_pang_lee_polarity(bad),
      doctest::Contains(
          "bad.csv:2: label \"0\" is not one of the known labels {negative (-1), positive (1)}"),
      DataError);
}

TEST_CASE("a label holding a TAB or a line break is refused where it is read") {
  // predict prints "label<TAB>probability<TAB>text", one line per input: such a label would
  // add fields or lines.
  const TempDir dir;
  const std::string csv = dir.write("multi.csv", "sentence,label\nfine,pos\nodd,\"pos\nitive\"\n");
  CHECK_THROWS_WITH_AS(read_table(csv, TableReadOptions::csv()),
                       (csv + ":3: label \"pos\\nitive\" holds a control character (U+000A); "
                              "labels must be printable on one line")
                           .c_str(),
                       DataError);
  const std::string jsonl = dir.write("tab.jsonl",
                                      "{\"text\": \"a\", \"label\": \"neg\"}\n"
                                      "{\"text\": \"b\", \"label\": \"p\\tos\"}\n");
  CHECK_THROWS_WITH_AS(read_jsonl(jsonl, {}),
                       (jsonl + ":2: label \"p\\tos\" holds a control character (U+0009); "
                                "labels must be printable on one line")
                           .c_str(),
                       DataError);
  CHECK_THROWS_WITH_AS(
      LabelMap::from_json("{\"id2label\": {\"0\": \"neg\", \"1\": \"po\\ns\"}}", "labels.json"),
      "labels.json: label \"po\\ns\" holds a control character (U+000A); labels must be "
      "printable on one line",
      DataError);
  CHECK_THROWS_AS(LabelMap({"neg", "p\tos"}), std::invalid_argument);
}

TEST_CASE("ambiguous columns and keys: a repeated CSV header column, a repeated JSONL key") {
  const TempDir dir;
  const std::string csv = dir.write("twice.csv", "text,label,label\nfine,1,0\n");
  TableReadOptions options = TableReadOptions::csv();
  options.text_column = "text";
  CHECK_THROWS_WITH_AS(
      read_table(csv, options),
      (csv + ":1: column \"label\" appears twice in the header (columns 2 and 3)").c_str(),
      DataError);
  const std::string jsonl = dir.write("twice.jsonl",
                                      "{\"text\": \"a\", \"label\": 1}\n"
                                      "{\"text\": \"b\", \"label\": 1, \"label\": 0}\n");
  CHECK_THROWS_WITH_AS(read_jsonl(jsonl, {}),
                       (jsonl + ":2: key \"label\" appears twice in the object").c_str(),
                       DataError);
  JsonlReadOptions skip;
  skip.skip_bad_rows = true;
  CHECK(read_jsonl(jsonl, skip).bad_rows_skipped == 1);
  // A key repeated inside a nested object is not one the reader uses.
  const std::string nested = dir.write(
      "nested.jsonl", "{\"text\": \"a\", \"meta\": {\"x\": 1, \"x\": 2}, \"label\": 1}\n");
  CHECK(read_jsonl(nested, {}).size() == 1);
}
