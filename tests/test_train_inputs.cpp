// The apps' inputs and outputs, run as processes (tests/app_runner.h): one output line per
// input line, every write checked, bad lines named by their number, sizes checked before
// anything is allocated, and the train app's refusals of data and settings it would otherwise
// misuse in silence.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "app_runner.h"
#include "fixture.h"

namespace fs = std::filesystem;
using namespace app_runner;

namespace {

// A tiny demo run trained once for the predict tests.
const fs::path& trained_run() {
  static const fs::path dir = [] {
    const Result r = run("train", demo_args("inputs_run") + " --max-steps 3 --eval-every 3");
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    return scratch() / "inputs_run";
  }();
  return dir;
}

std::string predict_args(const std::string& input_name, const std::string& contents) {
  write(scratch() / input_name, contents);
  return "--run " + trained_run().string() + " --threads 1 --input " +
         (scratch() / input_name).string();
}

// The tiny model with room for the fixture vocabulary's 2,078 tokens.
std::string tiny_model_for_fixture_vocabulary() {
  std::string config = slurp(scratch() / "tiny" / "config.json");
  config.replace(config.find("\"vocab_size\": 128"), 17, "\"vocab_size\": 2100");
  write(scratch() / "tiny_vocab.json", config);
  return (scratch() / "tiny_vocab.json").string();
}

// A labelled TSV for the train app, and the flags that train the tiny model on it.
std::string tsv_args(const std::string& name, const std::string& rows, const std::string& out) {
  write(scratch() / name, "sentence\tlabel\n" + rows);
  return "--model " + tiny_model_for_fixture_vocabulary() + " --tokenizer " +
         fixture::path("tokenizer/uncased") + " --data " + (scratch() / name).string() +
         " --threads 1 --quiet-params --max-steps 2 --out " + (scratch() / out).string();
}

std::string repeated(const std::string& rows, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += rows;
  return out;
}

}  // namespace

TEST_CASE("predict: one output line per input line, a blank line included") {
  if (!have_apps()) return;
  const Result r = run("predict", predict_args("blank.txt", "good film\n\nbad film\n\n"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 4);
  const size_t second_line = r.out.find('\n') + 1;
  CHECK(r.out.find("\t\n", second_line) == r.out.find('\n', second_line) - 1);  // empty text
}

TEST_CASE("predict: a line that is not text is an error naming its line") {
  if (!have_apps()) return;
  SUBCASE("NUL byte") {
    const Result r = run("predict", predict_args("nul.txt", std::string("fine\nbad\0text\n", 14)));
    check_one_line_error(r);
    CHECK(r.err.find("nul.txt:2: NUL byte") != std::string::npos);
  }
  SUBCASE("invalid UTF-8") {
    const Result r = run("predict", predict_args("latin1.txt", "fine\nok\ncaf\xE9\n"));
    check_one_line_error(r);
    CHECK(r.err.find("latin1.txt:3: invalid UTF-8") != std::string::npos);
  }
  SUBCASE("a line over --max-line-bytes") {
    const Result r = run("predict", predict_args("long.txt", "short\n" + std::string(300, 'a')) +
                                        " --max-line-bytes 100");
    check_one_line_error(r);
    CHECK(r.err.find("long.txt:2: line longer than 100 bytes") != std::string::npos);
  }
}

TEST_CASE("predict and hidden_states: bad --input and --max-length are refused") {
  if (!have_apps()) return;
  const Result folder =
      run("predict", "--run " + trained_run().string() + " --input " + scratch().string());
  check_one_line_error(folder);
  CHECK(folder.err.find("is a folder") != std::string::npos);
  for (const char* length : {"0", "-5"}) {
    const Result r = run("predict", predict_args("ok.txt", "fine\n") + " --max-length " + length);
    check_one_line_error(r);
    CHECK(r.err.find("--max-length must be at least 2") != std::string::npos);
    const Result h =
        run("hidden_states", "--model " + fixture::path("tiny-bert") + " --tokenizer " +
                                 fixture::path("tokenizer/uncased") + " --input " +
                                 (scratch() / "ok.txt").string() + " --max-length " + length);
    check_one_line_error(h);
    CHECK(h.err.find("--max-length must be at least 2") != std::string::npos);
  }
}

TEST_CASE("predict and tokenize: a failed write to stdout is an error, not exit 0") {
  if (!have_apps()) return;
  std::string lines;
  for (int i = 0; i < 3000; ++i) lines += "a fine film number " + std::to_string(i) + "\n";
  const std::string p = (bin_dir() / "predict").string() + " " + predict_args("many.txt", lines);
  const Result r = run_command("sh -c '" + p + " >/dev/full'");
  check_one_line_error(r);
  CHECK(r.err.find("stdout: write failed") != std::string::npos);
  const std::string t = (bin_dir() / "tokenize").string() + " --vocab " +
                        fixture::path("tokenizer/uncased") + " --input " +
                        (scratch() / "many.txt").string();
  const Result tr = run_command("sh -c '" + t + " >/dev/full'");
  check_one_line_error(tr);
  CHECK(tr.err.find("stdout: write failed") != std::string::npos);
}

TEST_CASE("tokenize: --help, numbers checked, errors start with error:") {
  if (!have_apps()) return;
  const Result help = run("tokenize", "--help");
  CHECK(help.code == 0);
  CHECK(help.out.find("--max-length") != std::string::npos);
  const Result bad_number = run("tokenize", "--vocab x --max-length ten");
  check_one_line_error(bad_number);
  CHECK(bad_number.err.find("stoll") == std::string::npos);
  CHECK(bad_number.err.find("--max-length") != std::string::npos);
  write(scratch() / "bad.jsonl", "\"fine\"\n{\"text\": 3}\n");
  const Result bad_line =
      run("tokenize", "--vocab " + fixture::path("tokenizer/uncased") + " --format jsonl --input " +
                          (scratch() / "bad.jsonl").string());
  check_one_line_error(bad_line);
  CHECK(bad_line.err.find("bad.jsonl:2: ") != std::string::npos);
}

TEST_CASE("count_params and model sizes: refused up front, never a raw bad_alloc") {
  if (!have_apps()) return;
  const Result labels = run("count_params", "--num-labels 1000000000 --quiet");
  check_one_line_error(labels);
  CHECK(labels.err.find("1000000000") != std::string::npos);
  const Result huge_head = run("count_params", "--num-labels 16000000 --quiet");
  check_one_line_error(huge_head);
  CHECK(huge_head.err.find("more than this program accepts") != std::string::npos);
  fs::create_directories(scratch() / "deep");
  std::string config = slurp(scratch() / "tiny" / "config.json");
  config.replace(config.find("\"n_layers\": 2"), 13, "\"n_layers\": 100000");
  write(scratch() / "deep" / "config.json", config);
  const Result deep = run("count_params", "--model " + (scratch() / "deep").string());
  check_one_line_error(deep);
  CHECK(deep.err.find("n_layers") != std::string::npos);
  const Result deep_train =
      run("train", "--model " + (scratch() / "deep" / "config.json").string() + " --demo");
  check_one_line_error(deep_train);
}

TEST_CASE("train: data without line breaks stops at --max-line-bytes") {
  if (!have_apps()) return;
  const Result zero =
      run("train", "--model " + (scratch() / "tiny" / "config.json").string() + " --tokenizer " +
                       fixture::path("tokenizer/uncased") + " --data /dev/zero --format tsv");
  check_one_line_error(zero);
  CHECK(zero.err.find("/dev/zero:1: line longer than 1048576 bytes") != std::string::npos);
  const Result long_line =
      run("train", tsv_args("long.tsv", std::string(5000, 'a') + "\t1\n", "long") +
                       " --max-line-bytes 4096");
  check_one_line_error(long_line);
  CHECK(long_line.err.find("long.tsv:2: line longer than 4096") != std::string::npos);
}

TEST_CASE("train: one class is refused, labels mixing spellings are warned about") {
  if (!have_apps()) return;
  const Result one =
      run("train", tsv_args("one.tsv", repeated("good\tpos\nfine\tpos\n", 10), "one"));
  check_one_line_error(one);
  CHECK(one.err.find("a single class {pos}") != std::string::npos);
  const Result mixed =
      run("train", tsv_args("mixed.tsv", repeated("good\tpos\nbad\t0\nfine\t1\n", 10), "mixed"));
  INFO(mixed.err);
  CHECK(mixed.code == 0);
  CHECK(mixed.err.find("warning: ") != std::string::npos);
  CHECK(mixed.err.find("{0, pos} mix spellings") != std::string::npos);
}

TEST_CASE("train: settings that would be ignored or clamped are refused") {
  if (!have_apps()) return;
  const std::string rows = repeated("good film\t1\nbad film\t0\n", 10);
  const std::string data = tsv_args("two.tsv", rows, "settings");
  write(scratch() / "train2.tsv", "sentence\tlabel\n" + rows);
  const std::string with_train = "--model " + tiny_model_for_fixture_vocabulary() +
                                 " --tokenizer " + fixture::path("tokenizer/uncased") +
                                 " --train " + (scratch() / "train2.tsv").string();
  const auto refused = [](const Result& r, const std::string& text) {
    check_one_line_error(r);
    CHECK(r.err.find(text) != std::string::npos);
  };
  refused(run("train", data + " --split nan,0.1,0.1"), "finite");
  refused(run("train", data + " --seed 99999999999999999999"), "does not fit");
  refused(run("train", with_train + " --split 0.5,0.25,0.25"), "--split goes with --data");
  refused(run("train", data + " --val-split 0.3"), "--val-split goes with --train");
  refused(run("train", data + " --text-column label"),
          "the text column and the label column are both \"label\"");
  write(scratch() / "seed.json", R"({"seed": 99999999999999999999})");
  refused(run("train", data + " --config " + (scratch() / "seed.json").string()), "out of range");
}

TEST_CASE("train: Ctrl-C while the model loads stops before the first step with 130") {
  if (!have_apps()) return;
  const Result r = run("train_faults", demo_args("startup_stop") + " --interrupt-at-startup");
  INFO(r.out << r.err);
  CHECK(r.code == 130);
  CHECK(r.out.find("interrupted before the first step") != std::string::npos);
  CHECK_FALSE(fs::exists(scratch() / "startup_stop" / "checkpoint"));
  CHECK_FALSE(fs::exists(scratch() / "startup_stop" / "adapter_model.safetensors"));
}

TEST_CASE("train: a NaN stop advises a lower --lr, not resuming a diverging checkpoint") {
  if (!have_apps()) return;
  const Result r =
      run("train_faults", demo_args("nan_advice") + " --checkpoint-every 5 --nan-at-step 8");
  check_one_line_error(r);
  CHECK(r.err.find("lower --lr") != std::string::npos);
  CHECK(r.err.find("may already be diverging") != std::string::npos);
}

TEST_CASE("train: the tests' fault flags exist in build/bin/train_faults only, not in train") {
  if (!have_apps()) return;
  for (const char* flag : {"--nan-at-step 3", "--interrupt-at-step 3", "--kill-at-step 3",
                           "--kill-rank 0", "--interrupt-at-startup"}) {
    INFO(flag);
    const Result r = run("train", demo_args("no_faults") + " " + flag);
    check_one_line_error(r);
    CHECK(r.err.find(std::string(flag).substr(0, std::string(flag).find(' '))) !=
          std::string::npos);  // named as an unexpected argument
    CHECK_FALSE(fs::exists(scratch() / "no_faults" / "checkpoint"));
  }
}

TEST_CASE("apps: std's filesystem errors read like every other error") {
  if (!have_apps()) return;
  write(scratch() / "a_file", "x");
  const Result r =
      run("train", demo_args("unused") + " --out " + (scratch() / "a_file" / "run").string());
  check_one_line_error(r);
  CHECK(r.err.find("filesystem error") == std::string::npos);
  CHECK(r.err.find((scratch() / "a_file" / "run").string() + ": ") != std::string::npos);
}

TEST_CASE("train seeds are 0 to 2^64-1, a negative one is refused; merge --num-labels >= 1") {
  if (!have_apps()) return;
  const Result negative = run("train", demo_args("seed_negative") + " --seed -1");
  check_one_line_error(negative);
  CHECK(negative.err.find("--seed: '-1' is negative") != std::string::npos);
  CHECK_FALSE(fs::exists(scratch() / "seed_negative"));
  write(scratch() / "seed_negative.json", R"({"seed": -1})");
  const Result in_file = run("train", demo_args("seed_negative") + " --config " +
                                          (scratch() / "seed_negative.json").string());
  check_one_line_error(in_file);
  CHECK(in_file.err.find("setting \"seed\": negative") != std::string::npos);
  // The largest seed is a seed like any other, and is saved as it was given.
  const Result largest =
      run("train", demo_args("seed_largest") + " --max-steps 2 --seed 18446744073709551615");
  INFO(largest.err);
  REQUIRE(largest.code == 0);
  CHECK(slurp(scratch() / "seed_largest" / "train_config.json")
            .find("\"seed\": 18446744073709551615,") != std::string::npos);
  CHECK(run("train", "--resume " + (scratch() / "seed_largest").string()).code == 0);

  const std::string merge = "--model " + (trained_run() / "base-model").string() + " --adapter " +
                            trained_run().string() + " --out " +
                            (scratch() / "labels_merged").string();
  for (const char* n : {"-1", "0"}) {
    const Result r = run("merge", merge + " --num-labels " + n);
    check_one_line_error(r);
    CHECK(r.err.find(std::string("--num-labels must be at least 1, got ") + n) !=
          std::string::npos);
    CHECK_FALSE(fs::exists(scratch() / "labels_merged"));
  }
}
