// tokenize: run adaptgrad's BertTokenizer from the command line.
//
//   tokenize --vocab DIR [--input FILE] [--format lines|jsonl|tsv] [--column NAME]
//            [--pair-column NAME] [--max-length N] [--no-special-tokens] [--legacy-python]
//            [--max-line-bytes N] [--bench] [--repeat N]
//
// DIR is a Hugging Face tokenizer folder (vocab.txt or tokenizer.json, tokenizer_config.json).
// Input (FILE, or standard input):
//   lines  one text per line;
//   jsonl  one JSON value per line: a string, or {"text": ..., "text_pair": ...} (this is how
//          texts containing newlines, tabs or any Unicode get in unchanged);
//   tsv    a tab-separated file with a header row; --column names the text column
//          (default "sentence"), --pair-column an optional second text.
// Output: one JSON array of ids per input text (per input line for lines and jsonl), the ids of
// transformers v5's BertTokenizer (the fast one), or with --legacy-python those of its Python
// tokenizer (BertTokenizerLegacy). With --bench nothing is printed per text;
// instead the texts are tokenized (--repeat times, one thread) and one JSON line reports
// {"texts", "tokens", "seconds", "tokens_per_second"}, counting word pieces without [CLS]/[SEP].
// Errors (a bad line names its number, a failed write says so): one line "error: ..." on
// stderr, exit status 1. `tokenize --help` lists the flags.
//
//   tokenize --unicode-table
// prints, for every code point, the character predicates, lower-casing and NFD used by the
// tokenizer, so that tools/compare_tokenizer.py can check them against Python's unicodedata.

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "apps/common/help_defaults.h"
#include "data/bert_tokenizer.h"
#include "data/data_error.h"
#include "data/dataset.h"
#include "data/text_file.h"
#include "data/unicode_utils.h"

namespace {

struct Arguments {
  std::string vocab_folder, input, format = "lines", column = "sentence", pair_column;
  int64_t max_length = 0, repeat = 1, max_line_bytes = ag::data::kDefaultMaxLineBytes;
  bool special_tokens = true, legacy_python = false, bench = false, unicode_table = false;
};

struct TextInput {
  std::string text, text_pair;
  bool has_pair = false;
};

// Fills `args` from the command line; returns an exit code when the program should stop now
// (0 after --help).
std::optional<int> parse_arguments(int argc, char** argv, Arguments& args) {
  CLI::App app{"Runs adaptgrad's BertTokenizer on texts and prints their ids as JSON lines."};
  app.add_option("--vocab", args.vocab_folder,
                 "tokenizer folder (vocab.txt or tokenizer.json, tokenizer_config.json)");
  app.add_option("--input", args.input, "input file (default: standard input)");
  app.add_option("--format", args.format, "lines, jsonl or tsv")
      ->check(CLI::IsMember({"lines", "jsonl", "tsv"}));
  app.add_option("--column", args.column, "tsv: the text column");
  app.add_option("--pair-column", args.pair_column, "tsv: the second text column");
  app.add_option("--max-length", args.max_length, "truncate to this many ids (0: no limit)");
  app.add_option("--max-line-bytes", args.max_line_bytes, "longest input line accepted, in bytes");
  app.add_option("--repeat", args.repeat, "--bench: passes over the texts");
  bool no_special_tokens = false;
  app.add_flag("--no-special-tokens", no_special_tokens, "no [CLS]/[SEP], no truncation");
  app.add_flag("--legacy-python", args.legacy_python,
               "the Python tokenizer's rules (BertTokenizerLegacy) instead of the fast one's");
  app.add_flag("--bench", args.bench, "time the tokenizer instead of printing ids");
  app.add_flag("--unicode-table", args.unicode_table,
               "print, for every code point, the tokenizer's character classes, lower-casing and "
               "NFD (for tools/compare_tokenizer.py); needs no --vocab");
  ag::apps::show_defaults(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    throw std::invalid_argument(e.what());
  }
  args.special_tokens = !no_special_tokens;
  if (args.vocab_folder.empty() && !args.unicode_table)
    throw std::invalid_argument("--vocab DIR is required");
  if (args.max_length < 0) throw std::invalid_argument("--max-length must be >= 0");
  if (args.repeat <= 0) throw std::invalid_argument("--repeat must be positive");
  if (args.max_line_bytes <= 0) throw std::invalid_argument("--max-line-bytes must be positive");
  return std::nullopt;
}

std::vector<TextInput> read_texts(const Arguments& args) {
  std::vector<TextInput> texts;
  if (args.format == "tsv") {
    ag::data::TableReadOptions options = ag::data::TableReadOptions::tsv();
    options.text_column = args.column;
    options.text_pair_column = args.pair_column;
    options.label_column = "";  // unlabelled: only the text is needed
    options.max_line_bytes = args.max_line_bytes;
    const ag::data::Dataset dataset = ag::data::read_table(args.input, options);
    for (const auto& example : dataset.examples)
      texts.push_back({example.text, example.text_pair, dataset.has_text_pair});
    return texts;
  }
  std::ifstream file;
  if (!args.input.empty()) file = ag::data::open_text_input(args.input);
  const std::string name = args.input.empty() ? "stdin" : args.input;
  ag::data::LineReader lines(args.input.empty() ? std::cin : file, name, args.max_line_bytes);
  std::string line;
  while (lines.next(line)) {
    const std::string where = name + ":" + std::to_string(lines.line_number()) + ": ";
    if (args.format == "lines") {
      texts.push_back({line, "", false});
    } else {
      nlohmann::json value;
      try {
        value = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        throw ag::data::DataError(where + e.what());
      }
      if (value.is_string()) {
        texts.push_back({value.get<std::string>(), "", false});
      } else if (value.is_object() && value.contains("text") && value["text"].is_string()) {
        TextInput input{value["text"].get<std::string>(), "", false};
        if (value.contains("text_pair") && value["text_pair"].is_string()) {
          input.text_pair = value["text_pair"].get<std::string>();
          input.has_pair = true;
        }
        texts.push_back(std::move(input));
      } else {
        throw ag::data::DataError(where + "expected a JSON string or {\"text\": string}");
      }
    }
  }
  return texts;
}

std::vector<int32_t> encode(const ag::data::BertTokenizer& tokenizer, const TextInput& input,
                            const Arguments& args) {
  if (!args.special_tokens) {
    std::vector<int32_t> ids = tokenizer.tokenize_to_ids(input.text);
    if (input.has_pair) tokenizer.tokenize_to_ids(input.text_pair, ids);
    return ids;
  }
  if (input.has_pair)
    return tokenizer.encode_pair(input.text, input.text_pair, args.max_length).input_ids;
  return tokenizer.encode(input.text, args.max_length).input_ids;
}

void run_benchmark(const ag::data::BertTokenizer& tokenizer, const std::vector<TextInput>& texts,
                   const Arguments& args) {
  std::vector<int32_t> ids;
  int64_t tokens = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t r = 0; r < args.repeat; ++r) {
    for (const TextInput& input : texts) {
      ids.clear();
      tokenizer.tokenize_to_ids(input.text, ids);
      if (input.has_pair) tokenizer.tokenize_to_ids(input.text_pair, ids);
      tokens += static_cast<int64_t>(ids.size());
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const nlohmann::json report = {{"texts", static_cast<int64_t>(texts.size()) * args.repeat},
                                 {"tokens", tokens},
                                 {"seconds", seconds},
                                 {"tokens_per_second", seconds > 0 ? tokens / seconds : 0.0}};
  std::cout << report.dump() << "\n";
}

// One line per code point (surrogates excluded): "hex assigned flags lower-hex nfd-hex", where
// assigned is 0 for category Cn and flags
// are 0/1 for: is_python_space, is_bert_control, is_bert_punctuation, is_bert_whitespace,
// is_cjk_ideograph, is_nonspacing_mark, and whether U+03A3 lower-cases to final sigma in
// "A<c>Σ", "<c>Σ" and "AΣ<c>" (the Cased / Case_Ignorable properties).
void print_unicode_table() {
  namespace uc = ag::data::unicode;
  const auto hex = [](std::u32string_view text) {
    std::string out;
    char buffer[16];
    for (char32_t c : text) {
      std::snprintf(buffer, sizeof buffer, "%s%X", out.empty() ? "" : ",",
                    static_cast<unsigned>(c));
      out += buffer;
    }
    return out.empty() ? std::string("-") : out;
  };
  std::string out;
  for (char32_t c = 0; c <= 0x10FFFF; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    const bool final_after = uc::python_lower(std::u32string{U'A', c, 0x3A3}).back() == 0x3C2;
    const bool final_alone = uc::python_lower(std::u32string{c, 0x3A3}).back() == 0x3C2;
    const bool final_before = uc::python_lower(std::u32string{U'A', 0x3A3, c})[1] == 0x3C2;
    const bool flags[] = {uc::is_python_space(c),
                          uc::is_bert_control(c),
                          uc::is_bert_punctuation(c),
                          uc::is_bert_whitespace(c),
                          uc::is_cjk_ideograph(c),
                          uc::is_nonspacing_mark(c),
                          final_after,
                          final_alone,
                          final_before};
    out += hex(std::u32string(1, c)) + (uc::is_unassigned(c) ? " 0 " : " 1 ");
    for (bool flag : flags) out += flag ? '1' : '0';
    out += ' ' + hex(uc::python_lower(std::u32string(1, c))) + ' ' +
           hex(uc::nfd(std::u32string(1, c))) + '\n';
    if (out.size() > (1 << 20)) {
      std::cout << out;
      out.clear();
    }
  }
  std::cout << out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Arguments args;
    if (const auto code = parse_arguments(argc, argv, args)) return *code;
    if (args.unicode_table) {
      print_unicode_table();
      ag::data::close_stdout_checked();
      return 0;
    }
    auto tokenizer = ag::data::BertTokenizer::from_pretrained(args.vocab_folder);
    if (args.legacy_python) {
      ag::data::BertTokenizerOptions options = tokenizer.options();
      options.legacy_python = true;
      tokenizer = ag::data::BertTokenizer(tokenizer.vocabulary(), options);
    }
    const std::vector<TextInput> texts = read_texts(args);
    if (args.bench) {
      run_benchmark(tokenizer, texts, args);
      ag::data::close_stdout_checked();
      return 0;
    }
    std::string out;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      try {
        out += nlohmann::json(encode(tokenizer, texts[i], args)).dump();
      } catch (const std::exception& e) {
        throw ag::data::DataError("input text " + std::to_string(i + 1) + ": " + e.what());
      }
      out += '\n';
      if (out.size() > (1 << 20)) {  // write as we go; stop at the first failed write
        std::cout << out;
        ag::data::flush_checked(std::cout, "stdout");
        out.clear();
      }
    }
    std::cout << out;
    ag::data::close_stdout_checked();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
