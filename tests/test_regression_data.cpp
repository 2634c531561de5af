// Regression data (GLUE's STS-B): float labels read from TSV and JSONL, kept through splits and
// batches; and config.json's problem_type "regression" (num_labels 1) read and written back.
#include <doctest/doctest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "data/data_error.h"
#include "data/data_loader.h"
#include "data/dataset.h"
#include "data/splits.h"
#include "fixture.h"
#include "models/config.h"

using fixture::TempDir;
using nlohmann::json;
namespace data = ag::data;

namespace {
// The message of the DataError `f` throws, or "".
std::string data_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const data::DataError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("TSV with float_labels: every label a number in Example::target, one class LABEL_0") {
  TempDir dir;
  const std::string path = dir.write(
      "stsb.tsv", "sentence1\tsentence2\tscore\na\tb\t3.800\nc\td\t0\ne\tf\t 5.0 \ng\th\t2.5e-1\n");
  auto o = data::TableReadOptions::tsv();
  o.text_column = "sentence1";
  o.text_pair_column = "sentence2";
  o.label_column = "score";
  o.float_labels = true;
  const data::Dataset d = data::read_table(path, o);
  REQUIRE(d.size() == 4);
  CHECK(d.float_labels);
  CHECK(d.labels.names() == std::vector<std::string>{"LABEL_0"});
  CHECK(d.examples[0].target == 3.8f);
  CHECK(d.examples[1].target == 0.0f);
  CHECK(d.examples[2].target == 5.0f);
  CHECK(d.examples[3].target == 0.25f);
  for (const auto& e : d.examples) CHECK(e.label == 0);
  // Splits and batches carry the targets.
  const auto s = data::stratified_split(d, 0.25, 0.0, 7);
  CHECK(s.train.float_labels);
  CHECK(s.validation.float_labels);
  std::vector<data::EncodedExample> encoded;
  for (const auto& e : d.examples) encoded.push_back({{2, 3}, {0, 0}, e.label, e.target});
  data::DataLoaderOptions lo;
  lo.batch_size = 4;
  lo.shuffle = false;
  const data::Batch batch = data::DataLoader(encoded, lo).batch(0);
  CHECK(batch.targets == std::vector<float>{3.8f, 0.0f, 5.0f, 0.25f});
  CHECK(data::slice_rows(batch, 1, 3).targets == std::vector<float>{0.0f, 5.0f});
}

TEST_CASE("float_labels: a label that is not a finite float is a bad row naming file:line") {
  TempDir dir;
  for (const char* bad : {"n/a", "3.8x", "inf", "nan", "1e39", ""}) {
    INFO(bad);
    const std::string path =
        dir.write("bad.tsv", std::string("sentence\tlabel\nok\t1.5\nno\t") + bad + "\n");
    auto o = data::TableReadOptions::tsv();
    o.float_labels = true;
    const std::string message = data_error([&] { data::read_table(path, o); });
    CHECK(message.find(path + ":3: ") == 0);
    o.skip_bad_rows = true;
    const data::Dataset d = data::read_table(path, o);
    CHECK(d.size() == 1);
    CHECK(d.bad_rows_skipped == 1);
  }
}

TEST_CASE(
    "JSONL with float_labels: numbers and numeric strings; classification still refuses 3.5") {
  TempDir dir;
  const std::string path =
      dir.write("stsb.jsonl",
                "{\"text\": \"a\", \"label\": 3.5}\n{\"text\": \"b\", \"label\": 2}\n"
                "{\"text\": \"c\", \"label\": \"4.25\"}\n");
  data::JsonlReadOptions o;
  o.float_labels = true;
  const data::Dataset d = data::read_jsonl(path, o);
  REQUIRE(d.size() == 3);
  CHECK(d.examples[0].target == 3.5f);
  CHECK(d.examples[1].target == 2.0f);
  CHECK(d.examples[2].target == 4.25f);
  o.float_labels = false;  // a class label must be an integer or a string
  CHECK(data_error([&] { data::read_jsonl(path, o); }).find(path + ":1: ") == 0);
}

TEST_CASE("config.json problem_type: regression read and written back, multi-label refused") {
  const auto read = [](const json& j) {
    return ag::models::config_from_json_text(j.dump(), "config.json");
  };
  const json bert = {{"model_type", "bert"}, {"num_labels", 1}, {"problem_type", "regression"}};
  const auto c = read(bert);
  CHECK(c.problem_type == "regression");
  CHECK(c.num_labels == 1);
  const json back = json::parse(ag::models::config_to_json_text(c));
  CHECK(back["problem_type"] == "regression");
  // Unset stays unset (configs written before keep their bytes).
  CHECK_FALSE(json::parse(ag::models::config_to_json_text(read({{"model_type", "bert"}})))
                  .contains("problem_type"));
  // transformers would train a regression of 2 outputs against 2 targets: not what STS-B means.
  json two = bert;
  two["num_labels"] = 2;
  CHECK(fixture::error_message([&] {
          read(two);
        }).find("config.json: key \"problem_type\": \"regression\" needs num_labels 1, got 2") ==
        0);
  json multi = bert;
  multi["problem_type"] = "multi_label_classification";
  CHECK(fixture::error_message([&] { read(multi); })
            .find("key \"problem_type\": \"multi_label_classification\" changes the model's "
                  "math") != std::string::npos);
}
