// The entry code of every fuzz target, shared by the libFuzzer executables
// (tests/fuzz/fuzz_<target>.cpp, clang + ASan/UBSan/libFuzzer) and by the regression suite
// (tests/test_fuzz_regressions.cpp, plain doctest in the ordinary g++ build), which replays
// every file under tests/fuzz/regressions/<target>/ through exactly the same function.
//
// Each entry hands arbitrary bytes to one reader and catches exactly the exception types that
// reader documents for bad input: ag::Error (and its FormatError / ShapeError)
// for core/, models/ and nn/, ag::data::DataError for data/. Anything else -- another
// exception type, an abort, a sanitizer report, a leak, a timeout -- escapes and is a bug.
//
// Readers that only take a path get the bytes through a file in a private temporary folder
// (made once per process, removed at exit).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.h"
#include "core/io/safetensors.h"
#include "data/bert_tokenizer.h"
#include "data/data_error.h"
#include "data/dataset.h"
#include "data/polarity_corpus.h"
#include "models/classifier_factory.h"
#include "models/config.h"
#include "models/pretrained.h"
#include "nn/adapter_io.h"

#ifndef ADAPTGRAD_FIXTURES
#error "ADAPTGRAD_FIXTURES must name tests/fixtures"
#endif

// A known bug that is not fixed yet stops its fuzzer at once, every time. To look for the
// next bug behind it, an exploratory run may tolerate it (FUZZ_DEFINES=... tools/fuzz.sh);
// CI and the regression suite never define these.
//   ADAPTGRAD_FUZZ_TOLERATE_JSON_OUT_OF_RANGE: nlohmann::json::out_of_range escaping
//     config_from_json_text / read_adapter_config (a number like 1e400).
#ifdef ADAPTGRAD_FUZZ_TOLERATE_JSON_OUT_OF_RANGE
#include <nlohmann/json.hpp>
#define ADAPTGRAD_FUZZ_TOLERATED_JSON           \
  catch (const nlohmann::json::out_of_range&) { \
  }
#else
#define ADAPTGRAD_FUZZ_TOLERATED_JSON
#endif

namespace adaptgrad_fuzz {

namespace fs = std::filesystem;

// --- helpers ---------------------------------------------------------------------------------

inline std::string fixture(const std::string& relative) {
  return std::string(ADAPTGRAD_FIXTURES) + "/" + relative;
}

// A private temporary folder for this process: $TMPDIR (or /tmp)/adaptgrad-fuzz-XXXXXX.
class TempFolder {
 public:
  static const TempFolder& get() {
    static TempFolder folder;
    return folder;
  }
  const fs::path& path() const { return path_; }
  // A sub-folder of it (created on first use), e.g. an adapter folder.
  fs::path sub(const std::string& name) const {
    fs::path p = path_ / name;
    fs::create_directories(p);
    return p;
  }

  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  ~TempFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }

 private:
  TempFolder() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/adaptgrad-fuzz-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (!mkdtemp(buffer.data())) {
      // Not a finding: the harness itself cannot work.
      std::perror("adaptgrad fuzz: mkdtemp");
      std::abort();
    }
    path_ = buffer.data();
  }
  fs::path path_;
};

// Writes the bytes to `path` (replacing it). A failure is the harness's, not the library's.
inline void write_bytes(const fs::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) {
    std::perror(("adaptgrad fuzz: cannot write " + path.string()).c_str());
    std::abort();
  }
}

inline void write_text(const fs::path& path, std::string_view text) {
  write_bytes(path, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

// Touches every field of a dataset so that a wrongly built Example is read under ASan.
inline size_t consume(const ag::data::Dataset& dataset) {
  size_t total = 0;
  for (const ag::data::Example& example : dataset.examples) {
    total += example.text.size() + example.text_pair.size();
    if (example.label >= 0) total += dataset.labels.name(example.label).size();
  }
  for (int64_t count : dataset.label_counts()) total += static_cast<size_t>(count);
  return total + dataset.bad_row_messages.size();
}

// Keeps the optimiser from dropping reads whose result is otherwise unused.
inline volatile size_t sink = 0;

// --- targets ---------------------------------------------------------------------------------

// fuzz_safetensors: File::open_from_buffer, then every tensor through read_f32 or read_i64
// (whichever fits its dtype; the other one must throw FormatError) and raw_bytes.
inline int safetensors_entry(const uint8_t* data, size_t size) {
  try {
    const ag::safetensors::File file = ag::safetensors::File::open_from_buffer(
        std::string(reinterpret_cast<const char*>(data), size), "fuzz.safetensors");
    size_t total = file.metadata().size();
    for (const ag::safetensors::TensorInfo& info : file.tensors()) {
      total += file.raw_bytes(info.name).size();
      total += static_cast<size_t>(info.numel());
      try {
        if (ag::safetensors::is_floating_point(info.dtype)) {
          total += file.read_f32(info.name).size();
          (void)file.read_i64(info.name);  // must throw: wrong kind
        } else {
          total += file.read_i64(info.name).size();
          (void)file.read_f32(info.name);  // must throw: wrong kind
        }
      } catch (const ag::FormatError&) {
      }
    }
    sink = sink + total;
  } catch (const ag::Error&) {
  }
  return 0;
}

// fuzz_config: models::config_from_json_text on arbitrary text.
inline int config_entry(const uint8_t* data, size_t size) {
  try {
    const ag::models::EncoderConfig config = ag::models::config_from_json_text(
        std::string(reinterpret_cast<const char*>(data), size), "config.json");
    sink = sink + static_cast<size_t>(config.head_dim()) + config.id2label.size();
  } catch (const ag::Error&) {
  }
  ADAPTGRAD_FUZZ_TOLERATED_JSON
  return 0;
}

// fuzz_config_model: the config key and index checks, end to end. A config.json the reader
// accepts must describe a model that can be built and run: every index it names (pad_token_id,
// the last word, position and token type) is used, so an index the reader let through outside
// its table is an out-of-bounds access for ASan. What the reader accepts it must also write
// back (config_to_json_text) as a config that reads back the same.
inline int config_model_entry(const uint8_t* data, size_t size) {
  ag::models::EncoderConfig config;
  try {
    config = ag::models::config_from_json_text(
        std::string(reinterpret_cast<const char*>(data), size), "config.json");
  } catch (const ag::Error&) {
    return 0;
  }
  const std::string written = ag::models::config_to_json_text(config);
  if (ag::models::config_to_json_text(
          ag::models::config_from_json_text(written, "written config.json")) != written)
    throw std::logic_error("config.json written by config_to_json_text reads back differently");
  // Build and run only small models, so that every input stays fast.
  if (ag::models::estimated_parameters(config) > double(1 << 16)) return 0;
  try {
    const auto model = ag::models::make_classifier(config);
    model->eval();
    const int64_t length = std::min<int64_t>(config.max_positions, 4);
    const int32_t last_word = static_cast<int32_t>(config.vocab_size - 1);
    const int32_t pad = config.pad_token_id >= 0 ? static_cast<int32_t>(config.pad_token_id) : 0;
    ag::models::EncoderInput input{{{2, length}, std::vector<int32_t>(size_t(2 * length), pad)},
                                   {{2, length}, std::vector<int32_t>(size_t(2 * length), 1)},
                                   {}};
    input.input_ids.values[0] = last_word;
    input.attention_mask.values.back() = 0;
    if (config.model_type == "bert") {
      input.token_type_ids = {{2, length}, std::vector<int32_t>(size_t(2 * length), 0)};
      input.token_type_ids.values.back() = static_cast<int32_t>(config.type_vocab_size - 1);
    }
    const ag::Tensor logits = model->forward(input);
    sink = sink + static_cast<size_t>(logits.numel());
  } catch (const ag::Error&) {
  }
  return 0;
}

// fuzz_adapter_config: nn::read_adapter_config on an adapter_config.json holding the bytes.
// (It reads from a folder; a text entry point would avoid the file.)
inline int adapter_config_entry(const uint8_t* data, size_t size) {
  const fs::path folder = TempFolder::get().sub("adapter_config");
  write_bytes(folder / "adapter_config.json", data, size);
  try {
    const ag::nn::LoraConfig config = ag::nn::read_adapter_config(folder.string());
    sink = sink + config.targets.size() + config.modules_to_save.size() +
           static_cast<size_t>(config.r);
  } catch (const ag::Error&) {
  }
  ADAPTGRAD_FUZZ_TOLERATED_JSON
  return 0;
}

// The fixed adapter_config.json of fuzz_adapter_load: PEFT's DoRA on q_lin and v_lin with the
// classifier saved (the config of tests/fixtures/peft/saved-adapter-distilbert, trimmed).
inline constexpr std::string_view kAdapterLoadConfig = R"({
  "peft_type": "LORA",
  "task_type": "SEQ_CLS",
  "base_model_name_or_path": "tiny-distilbert",
  "r": 4,
  "lora_alpha": 8,
  "lora_dropout": 0.0,
  "target_modules": ["q_lin", "v_lin"],
  "modules_to_save": ["classifier", "score"],
  "use_dora": true,
  "use_rslora": false,
  "bias": "none"
}
)";

// fuzz_adapter_load: an adapter folder with the fixed config above and the bytes as
// adapter_model.safetensors, loaded (nn::load_adapter) into a fresh tiny-distilbert.
inline int adapter_load_entry(const uint8_t* data, size_t size) {
  const fs::path folder = TempFolder::get().sub("adapter_load");
  static const bool config_written = [&] {
    write_text(folder / "adapter_config.json", kAdapterLoadConfig);
    return true;
  }();
  (void)config_written;
  write_bytes(folder / "adapter_model.safetensors", data, size);
  // A fresh model each time: load_adapter wraps the model's layers.
  const std::shared_ptr<ag::models::SequenceClassifier> model =
      ag::models::from_pretrained(fixture("tiny-distilbert"));
  try {
    const ag::nn::LoraConfig config = ag::nn::load_adapter(*model, folder.string());
    sink = sink + config.targets.size();
  } catch (const ag::Error&) {
  }
  return 0;
}

// fuzz_tokenizer: arbitrary bytes as text through the uncased and the cased fixture
// tokenizers: tokenize, encode (plain, truncated, as a pair split at the first tab), decode
// of the ids (both flag settings), and decode of the bytes read as raw int32 ids (unknown and
// negative ids must decode as [UNK]).
inline int tokenizer_entry(const uint8_t* data, size_t size) {
  static const ag::data::BertTokenizer uncased =
      ag::data::BertTokenizer::from_pretrained(fixture("tokenizer/uncased"));
  static const ag::data::BertTokenizer cased =
      ag::data::BertTokenizer::from_pretrained(fixture("tokenizer/cased"));
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t total = 0;
  for (const ag::data::BertTokenizer* tokenizer : {&uncased, &cased}) {
    try {
      const ag::data::Encoding encoding = tokenizer->encode(text);
      total += tokenizer->decode(encoding.input_ids).size();
      total += tokenizer->decode(encoding.input_ids, true, false).size();
      total += tokenizer->tokenize(text).size();
      total += tokenizer->encode(text, 8).input_ids.size();
      const size_t tab = text.find('\t');
      if (tab != std::string_view::npos) {
        total +=
            tokenizer->encode_pair(text.substr(0, tab), text.substr(tab + 1), 9).input_ids.size();
        total += tokenizer->encode_pair(text.substr(0, tab), text.substr(tab + 1)).input_ids.size();
      }
    } catch (const ag::data::DataError&) {
      // invalid UTF-8 (documented)
    }
    std::vector<int32_t> raw(size / sizeof(int32_t));
    if (!raw.empty()) std::memcpy(raw.data(), data, raw.size() * sizeof(int32_t));
    total += tokenizer->decode(raw).size();
    total += tokenizer->decode(raw, true, true).size();
  }
  sink = sink + total;
  return 0;
}

// fuzz_tokenizer_json: a tokenizer folder with only tokenizer.json holding the bytes, loaded by
// BertTokenizer::from_pretrained and then used on a fixed text.
inline int tokenizer_json_entry(const uint8_t* data, size_t size) {
  const fs::path folder = TempFolder::get().sub("tokenizer_json");
  write_bytes(folder / "tokenizer.json", data, size);
  try {
    const ag::data::BertTokenizer tokenizer =
        ag::data::BertTokenizer::from_pretrained(folder.string());
    const ag::data::Encoding encoding =
        tokenizer.encode("Hello, [MASK] world! Unaffable na\xc3\xafve \xe4\xbd\xa0\xe5\xa5\xbd.");
    sink = sink + tokenizer.decode(encoding.input_ids).size();
  } catch (const ag::data::DataError&) {
  }
  return 0;
}

// fuzz_tokenizer_config: a tokenizer folder with the uncased fixture's vocab.txt and the bytes
// as tokenizer_config.json, loaded by BertTokenizer::from_pretrained and used on a fixed text.
inline int tokenizer_config_entry(const uint8_t* data, size_t size) {
  const fs::path folder = TempFolder::get().sub("tokenizer_config");
  static const bool vocab_copied = [&] {
    fs::copy_file(fixture("tokenizer/uncased/vocab.txt"), folder / "vocab.txt",
                  fs::copy_options::overwrite_existing);
    return true;
  }();
  (void)vocab_copied;
  write_bytes(folder / "tokenizer_config.json", data, size);
  try {
    const ag::data::BertTokenizer tokenizer =
        ag::data::BertTokenizer::from_pretrained(folder.string());
    const ag::data::Encoding encoding = tokenizer.encode(
        "Hello, [MASK] world! Unaffable na\xc3\xafve \xe4\xbd\xa0\xe5\xa5\xbd.", 16);
    sink = sink + tokenizer.decode(encoding.input_ids, true).size() +
           static_cast<size_t>(tokenizer.model_max_length() & 0xff);
  } catch (const ag::data::DataError&) {
  }
  return 0;
}

// The readers of labelled data files read a path: the bytes go to a file with the usual
// extension, which is then read with a few option sets.
inline fs::path data_file(const char* name, const uint8_t* data, size_t size) {
  const fs::path path = TempFolder::get().sub("data") / name;
  write_bytes(path, data, size);
  return path;
}

template <class Read>
inline void read_dataset(Read read) {
  try {
    sink = sink + consume(read());
  } catch (const ag::data::DataError&) {
  }
}

// fuzz_tsv and fuzz_csv: data::read_table as the apps call it (header with sentence/text and
// label), then skipping bad rows with known labels {0, 1} and a text pair, then headerless.
inline int table_entry(const uint8_t* data, size_t size, bool csv) {
  const fs::path path = data_file(csv ? "fuzz.csv" : "fuzz.tsv", data, size);
  const ag::data::TableReadOptions base =
      csv ? ag::data::TableReadOptions::csv() : ag::data::TableReadOptions::tsv();
  const std::string text_column = csv ? "text" : "sentence";
  read_dataset([&] {
    ag::data::TableReadOptions options = base;
    options.text_column = text_column;
    return ag::data::read_table(path.string(), options);
  });
  read_dataset([&] {
    ag::data::TableReadOptions options = base;
    options.text_column = text_column;
    options.text_pair_column = csv ? "text_b" : "sentence2";
    options.labels = ag::data::LabelMap({"0", "1"});
    options.skip_bad_rows = true;
    return ag::data::read_table(path.string(), options);
  });
  read_dataset([&] {
    ag::data::TableReadOptions options = base;
    options.has_header = false;
    options.text_column = "1";
    options.label_column = "0";
    options.skip_bad_rows = true;
    return ag::data::read_table(path.string(), options);
  });
  return 0;
}

inline int tsv_entry(const uint8_t* data, size_t size) {
  return table_entry(data, size, false);
}

inline int csv_entry(const uint8_t* data, size_t size) {
  return table_entry(data, size, true);
}

// fuzz_jsonl: data::read_jsonl with the default keys, then skipping bad rows with a text pair
// and known labels, then unlabelled.
inline int jsonl_entry(const uint8_t* data, size_t size) {
  const fs::path path = data_file("fuzz.jsonl", data, size);
  read_dataset([&] { return ag::data::read_jsonl(path.string(), {}); });
  read_dataset([&] {
    ag::data::JsonlReadOptions options;
    options.text_pair_key = "text_pair";
    options.labels = ag::data::LabelMap({"0", "1", "neg", "pos"});
    options.skip_bad_rows = true;
    return ag::data::read_jsonl(path.string(), options);
  });
  read_dataset([&] {
    ag::data::JsonlReadOptions options;
    options.label_key.clear();
    return ag::data::read_jsonl(path.string(), options);
  });
  return 0;
}

// fuzz_polarity: data::read_pang_lee_polarity, strict and skipping bad rows.
inline int polarity_entry(const uint8_t* data, size_t size) {
  const fs::path path = data_file("fuzz-polarity.csv", data, size);
  read_dataset([&] { return ag::data::read_pang_lee_polarity(path.string(), false); });
  read_dataset([&] { return ag::data::read_pang_lee_polarity(path.string(), true); });
  return 0;
}

// --- the table of targets (the regression suite walks it) -----------------------------------

using Entry = int (*)(const uint8_t*, size_t);

struct Target {
  const char* name;  // fuzz_<name>.cpp, tests/fuzz/corpus/<name>/, tests/fuzz/regressions/<name>/
  Entry entry;
};

inline constexpr Target kTargets[] = {
    {"safetensors", safetensors_entry},
    {"config", config_entry},
    {"config_model", config_model_entry},
    {"adapter_config", adapter_config_entry},
    {"adapter_load", adapter_load_entry},
    {"tokenizer", tokenizer_entry},
    {"tokenizer_json", tokenizer_json_entry},
    {"tokenizer_config", tokenizer_config_entry},
    {"tsv", tsv_entry},
    {"csv", csv_entry},
    {"jsonl", jsonl_entry},
    {"polarity", polarity_entry},
};

}  // namespace adaptgrad_fuzz

// Defines LLVMFuzzerTestOneInput for one entry (used once per fuzz_<target>.cpp).
#define ADAPTGRAD_FUZZ_TARGET(entry)                                        \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    return adaptgrad_fuzz::entry(data, size);                               \
  }
