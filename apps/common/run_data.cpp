#include "apps/common/run_data.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>

#include "apps/common/app_util.h"
#include "core/errors.h"
#include "core/io/atomic_file.h"
#include "core/io/file_digest.h"
#include "data/basic_tokenizer.h"
#include "data/demo_task.h"
#include "data/polarity_corpus.h"
#include "data/splits.h"

namespace fs = std::filesystem;

namespace ag::apps {
namespace {

std::string format_of(const TrainConfig& c, const std::string& path) {
  if (!c.format.empty()) return c.format;
  const std::string name = fs::path(path).filename().string();
  if (name.find("pang_lee") != std::string::npos || name.find("pang&lee") != std::string::npos)
    return "polarity";  // tools/get_polarity_data.sh's file (CSV without a header)
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  if (ext == ".tsv") return "tsv";
  if (ext == ".csv") return "csv";
  if (ext == ".jsonl" || ext == ".json") return "jsonl";
  throw Error(path + ": cannot tell the format from the extension; pass --format " +
              "tsv|csv|jsonl|polarity");
}

// The reader settings that every format's options share, from the flags.
template <class Options>
Options with_common_settings(Options o, const TrainConfig& c,
                             const std::optional<data::LabelMap>& labels) {
  o.labels = labels;
  o.skip_bad_rows = c.skip_bad_rows;
  o.max_line_bytes = c.max_line_bytes;
  o.float_labels = c.is_regression();
  return o;
}

std::vector<double> parse_split(const std::string& text) {
  std::vector<double> f;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    try {
      size_t used = 0;
      f.push_back(std::stod(item, &used));
      if (used != item.size()) throw std::invalid_argument("trailing text");
    } catch (const std::exception&) {
      throw Error("--split: '" + item + "' is not a number (expected e.g. 0.8,0.1,0.1)");
    }
  }
  if (f.size() != 3) throw Error("--split needs three fractions train,validation,test");
  const double sum = f[0] + f[1] + f[2];
  if (!std::isfinite(sum)) throw Error("--split: fractions must be finite numbers, got " + text);
  if (f[0] <= 0 || f[1] <= 0 || f[2] < 0 || std::abs(sum - 1.0) > 1e-6)
    throw Error("--split: fractions must be positive (test may be 0) and sum to 1, got " + text);
  return f;
}

// A classifier needs two classes to tell apart: with one, every prediction is right and the
// run "succeeds" with accuracy 1 and loss 0. Labels that mix numbers and words ("0" and "pos")
// are often one class spelled two ways: warn.
void check_classes(const data::Dataset& train, const std::string& source) {
  if (train.float_labels) {  // regression: one output, but the targets must vary
    const auto [low, high] = std::minmax_element(
        train.examples.begin(), train.examples.end(),
        [](const data::Example& a, const data::Example& b) { return a.target < b.target; });
    if (low->target == high->target)
      throw Error(source + ": every training label is " + std::to_string(low->target) +
                  "; a regression needs labels that vary");
    return;
  }
  const auto counts = train.label_counts();
  const auto present = std::count_if(counts.begin(), counts.end(), [](int64_t n) { return n > 0; });
  if (present < 2)
    throw Error(source + ": the training data has " +
                (present == 1 ? "a single class " + train.labels.describe()
                              : std::string("no labelled example")) +
                "; a classifier needs at least two classes");
  if (const auto mix = train.labels.mixed_spellings())
    std::cerr << "warning: " << source << ": the labels " << *mix
              << " mix spellings; check they are not one class written two ways\n";
}

void describe(std::ostream& log, const char* name, const data::Dataset& d) {
  log << "  " << name << ": " << d.size() << " examples";
  if (d.float_labels) {
    double low = d.examples[0].target, high = low, sum = 0;
    for (auto& e : d.examples) {
      low = std::min(low, double(e.target));
      high = std::max(high, double(e.target));
      sum += e.target;
    }
    log << " (labels " << low << " to " << high << ", mean " << sum / double(d.size()) << ")\n";
    return;
  }
  const auto counts = d.label_counts();
  for (size_t i = 0; i < counts.size(); ++i)
    log << (i ? ", " : " (") << d.labels.name(int32_t(i)) << " " << counts[i];
  log << ")\n";
}

}  // namespace

data::Dataset read_data_file(const TrainConfig& c, const std::string& path,
                             const std::optional<data::LabelMap>& labels) {
  if (!fs::exists(path)) throw Error(path + ": no such file");
  if (fs::is_directory(path)) throw Error(path + ": is a folder, expected a data file");
  const std::string format = format_of(c, path);
  data::Dataset d;
  if (format == "polarity") {
    d = data::read_pang_lee_polarity(path, c.skip_bad_rows);
  } else if (format == "jsonl") {
    auto o = with_common_settings(data::JsonlReadOptions{}, c, labels);
    if (!c.text_column.empty()) o.text_key = c.text_column;
    o.text_pair_key = c.text_pair_column;
    if (!c.label_column.empty()) o.label_key = c.label_column;
    d = data::read_jsonl(path, o);
  } else {
    auto o = with_common_settings(
        format == "tsv" ? data::TableReadOptions::tsv() : data::TableReadOptions::csv(), c, labels);
    o.text_column = !c.text_column.empty() ? c.text_column : format == "tsv" ? "sentence" : "text";
    o.text_pair_column = c.text_pair_column;
    if (!c.label_column.empty()) o.label_column = c.label_column;
    o.has_header = !c.no_header;
    d = data::read_table(path, o);
  }
  if (d.bad_rows_skipped > 0)
    std::cerr << "warning: " << path << ": skipped " << d.bad_rows_skipped << " bad rows"
              << (d.bad_row_messages.empty() ? "" : " (first: " + d.bad_row_messages[0] + ")")
              << "\n";
  if (d.examples.empty()) throw Error(path + ": no examples");
  // A label map from a polarity file is fixed; check other splits agree with the training one.
  // The training file names its labels when its convention is known (SST-2: 0 negative).
  if (!labels) d.labels = data::with_known_names(d.labels, path);
  if (labels && !(d.labels == *labels))
    throw Error(path + ": labels " + d.labels.describe() + " differ from the training labels " +
                labels->describe());
  return d;
}

RunData load_run_data(const TrainConfig& c, std::ostream& log) {
  RunData run;
  if (!c.train.empty()) {
    run.train = read_data_file(c, c.train, std::nullopt);
    if (!c.validation.empty()) {
      run.validation = read_data_file(c, c.validation, run.train.labels);
    } else {
      auto s = data::stratified_split(run.train, c.val_split, 0.0, uint64_t(c.seed));
      log << "validation: " << c.val_split << " of " << c.train << " (stratified, seed " << c.seed
          << ")\n";
      run.train = std::move(s.train);
      run.validation = std::move(s.validation);
    }
    if (!c.test.empty()) run.test = read_data_file(c, c.test, run.train.labels);
  } else {
    data::Dataset all;
    if (c.demo) {
      all = data::make_synthetic_sentiment(c.demo_size, uint64_t(c.seed));
      run.synthetic = true;
      log << "*** DEMO: the data is SYNTHETIC (" << data::kSyntheticSentimentSource
          << "). Accuracy on it says nothing about real text. ***\n";
    } else {
      all = read_data_file(c, c.data, std::nullopt);
    }
    const auto f = parse_split(c.split);
    auto s = data::stratified_split(all, f[1], f[2], uint64_t(c.seed));
    run.train = std::move(s.train);
    run.validation = std::move(s.validation);
    run.test = std::move(s.test);
    log << "data: " << all.source << " split " << c.split << " (stratified, seed " << c.seed
        << ")\n";
  }
  if (run.validation.examples.empty()) throw Error("the validation split is empty");
  check_classes(run.train, !c.train.empty() ? c.train : c.demo ? "the demo data" : c.data);
  describe(log, "train", run.train);
  describe(log, "validation", run.validation);
  if (!run.test.examples.empty()) describe(log, "test", run.test);
  return run;
}

uint64_t data_fingerprint(const RunData& data) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  auto mix = [&](std::string_view s) {
    for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  };
  for (const auto* d : {&data.train, &data.validation, &data.test})
    for (auto& e : d->examples) {
      mix(e.text);
      mix(e.text_pair);
      mix(std::to_string(e.label));
      if (d->float_labels) mix(std::to_string(e.target));  // classification runs: as before
    }
  return h;
}

RunTokenizer load_run_tokenizer(const TrainConfig& c, const RunData& data) {
  auto has_vocab = [](const fs::path& dir) {
    return fs::is_directory(dir) &&
           (fs::exists(dir / "vocab.txt") || fs::exists(dir / "tokenizer.json"));
  };
  std::string folder = c.tokenizer;
  if (folder.empty()) {
    const fs::path m(c.model);
    if (has_vocab(m))
      folder = m.string();
    else if (fs::is_regular_file(m) && has_vocab(m.parent_path().empty() ? "." : m.parent_path()))
      folder = m.parent_path().empty() ? "." : m.parent_path().string();
  }
  if (!folder.empty()) {
    if (!has_vocab(folder))
      throw Error(folder + ": no vocab.txt or tokenizer.json (pass --tokenizer FOLDER)");
    return {data::BertTokenizer::from_pretrained(folder), folder, {}};
  }
  if (!data.synthetic)
    throw Error("--model " + c.model +
                " comes without a tokenizer (no vocab.txt); pass --tokenizer FOLDER");
  // The synthetic task has a few dozen words: a word-level vocabulary covers it exactly.
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  std::set<std::string> words;
  data::BasicTokenizer basic;
  for (const auto* d : {&data.train, &data.validation, &data.test})
    for (auto& e : d->examples)
      for (auto& w : basic.tokenize(e.text)) words.insert(w);
  vocab.insert(vocab.end(), words.begin(), words.end());
  return {data::BertTokenizer(data::Vocabulary(vocab)), "", vocab};
}

namespace {

// The tokenizer_config.json of a vocabulary generated for --demo.
constexpr const char* kGeneratedTokenizerConfig =
    "{\"do_lower_case\": true, \"model_max_length\": 512, "
    "\"tokenizer_class\": \"BertTokenizer\"}\n";

std::string generated_vocab_text(const RunTokenizer& t) {
  std::string text;
  for (auto& w : t.generated_vocab) text += w + "\n";
  return text;
}

}  // namespace

void save_run_tokenizer(const RunTokenizer& t, const std::string& folder) {
  if (!t.generated_vocab.empty()) {
    write_text_file_atomically((fs::path(folder) / "vocab.txt").string(), generated_vocab_text(t));
    write_text_file_atomically((fs::path(folder) / "tokenizer_config.json").string(),
                               kGeneratedTokenizerConfig);
    return;
  }
  copy_tokenizer_files(t.folder, folder);
}

nlohmann::json tokenizer_digests(const RunTokenizer& t) {
  nlohmann::json digests = nlohmann::json::object();
  if (!t.generated_vocab.empty()) {
    digests["vocab.txt"] = fnv1a64_digest_text(fnv1a64(generated_vocab_text(t)));
    digests["tokenizer_config.json"] = fnv1a64_digest_text(fnv1a64(kGeneratedTokenizerConfig));
    return digests;
  }
  for (const std::string& name : tokenizer_file_names()) {
    const fs::path file = fs::path(t.folder) / name;
    if (fs::exists(file)) digests[name] = fnv1a64_digest_text(fnv1a64_file(file.string()));
  }
  return digests;
}

const std::vector<std::string>& tokenizer_file_names() {
  static const std::vector<std::string> names = {"vocab.txt", "tokenizer_config.json",
                                                 "tokenizer.json", "special_tokens_map.json"};
  return names;
}

bool copy_tokenizer_files(const std::string& from, const std::string& to) {
  bool copied = false;
  for (const std::string& name : tokenizer_file_names()) {
    const fs::path file = fs::path(from) / name;
    if (!fs::exists(file)) continue;
    copy_file_atomically(file.string(), (fs::path(to) / name).string());
    copied = true;
  }
  return copied;
}

}  // namespace ag::apps
