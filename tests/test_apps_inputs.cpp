// predict and train on inputs that used to pass in silence, run as processes
// (tests/app_runner.h): a closed stdin, a bad thread count, a pair model given single texts, a
// bad line after good ones (the good ones are still answered), an adapter whose finite weights
// overflow, and a --config that spells one setting two ways.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "app_runner.h"
#include "core/io/safetensors.h"
#include "fixture.h"

namespace fs = std::filesystem;
using namespace app_runner;

namespace {

// A tiny demo run, trained once.
const fs::path& demo_run() {
  static const fs::path dir = [] {
    const Result r = run("train", demo_args("demo_run") + " --max-steps 3 --eval-every 3");
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    return scratch() / "demo_run";
  }();
  return dir;
}

std::string predict_args(const fs::path& run_folder, const std::string& input_name,
                         const std::string& contents) {
  write(scratch() / input_name, contents);
  return "--run " + run_folder.string() + " --threads 1 --input " +
         (scratch() / input_name).string();
}

std::string numbered_lines(int count) {
  std::string lines;
  for (int i = 0; i < count; ++i) lines += "a good film " + std::to_string(i) + "\n";
  return lines;
}

int64_t line_count(const std::string& text) {
  return std::count(text.begin(), text.end(), '\n');
}

// A copy of `from` in which every element of every tensor whose name contains `part` is `value`.
void copy_with_every_value(const std::string& from, const std::string& to, const std::string& part,
                           float value) {
  auto file = ag::safetensors::File::open(from);
  std::vector<ag::safetensors::F32Tensor> tensors;
  for (auto& info : file.tensors()) {
    std::vector<float> values = file.read_f32(info.name);
    if (info.name.find(part) != std::string::npos) std::fill(values.begin(), values.end(), value);
    tensors.push_back({info.name, info.shape, values});
  }
  ag::safetensors::save_f32(to, tensors);
}

}  // namespace

TEST_CASE("predict: the lines before a bad line are all answered, then the error") {
  if (!have_apps()) return;
  // 100 good lines fill three batches of 32 and part of a fourth; line 101 is not UTF-8.
  const Result r =
      run("predict", predict_args(demo_run(), "bad_last.txt", numbered_lines(100) + "caf\xE9\n"));
  check_one_line_error(r);
  CHECK(r.err.find("bad_last.txt:101: invalid UTF-8") != std::string::npos);
  CHECK(line_count(r.out) == 100);
  CHECK(r.out.find("\ta good film 99\n") != std::string::npos);
}

TEST_CASE("predict: a closed stdin and a negative --threads are errors") {
  if (!have_apps()) return;
  const std::string predict = (bin_dir() / "predict").string() + " --run " + demo_run().string();
  const Result closed = run_command("sh -c '" + predict + " --threads 1 <&-'");
  check_one_line_error(closed);
  CHECK(closed.err.find("stdin is closed") != std::string::npos);
  CHECK(closed.out.empty());

  write(scratch() / "one.txt", "fine\n");
  const Result threads = run("predict", "--run " + demo_run().string() + " --threads -1 --input " +
                                            (scratch() / "one.txt").string());
  check_one_line_error(threads);
  CHECK(threads.err.find("--threads must be >= 0") != std::string::npos);
}

TEST_CASE("predict: a model trained on text pairs refuses a line without a TAB") {
  if (!have_apps()) return;
  std::string rows = "sentence\tsecond\tlabel\n";
  for (int i = 0; i < 8; ++i) rows += "the film\tit was good\tpos\nthe film\tit was bad\tneg\n";
  write(scratch() / "pairs.tsv", rows);
  // The tiny model with room for the fixture vocabulary's 2,078 tokens.
  std::string config = slurp(scratch() / "tiny" / "config.json");
  config.replace(config.find("\"vocab_size\": 128"), 17, "\"vocab_size\": 2100");
  write(scratch() / "tiny_vocab.json", config);
  const Result trained =
      run("train", "--model " + (scratch() / "tiny_vocab.json").string() + " --tokenizer " +
                       fixture::path("tokenizer/uncased") + " --data " +
                       (scratch() / "pairs.tsv").string() +
                       " --text-pair-column second --threads 1 --quiet-params --max-steps 2"
                       " --out " +
                       (scratch() / "pair_run").string());
  INFO(trained.err);
  REQUIRE(trained.code == 0);
  const Result r = run("predict", predict_args(scratch() / "pair_run", "pairs.txt",
                                               "a film\tit was good\njust one text\n"));
  check_one_line_error(r);
  CHECK(r.err.find("pairs.txt:2: expected two texts separated by a TAB") != std::string::npos);
  CHECK(line_count(r.out) == 1);  // line 1 is answered
}

TEST_CASE("predict: finite weights that overflow are an error, not one answer for every input") {
  if (!have_apps()) return;
  const fs::path copy = scratch() / "overflow_run";
  fs::remove_all(copy);
  fs::copy(demo_run(), copy, fs::copy_options::recursive);
  const std::string adapter = (copy / "adapter_model.safetensors").string();
  const std::string args = predict_args(copy, "two.txt", "good film\nbad film\n");
  SUBCASE("LoRA factors of 1e20: B A = 1e40 * r, beyond float32") {
    copy_with_every_value((demo_run() / "adapter_model.safetensors").string(), adapter, "lora_",
                          1e20f);
    const Result r = run("predict", args);
    check_one_line_error(r);
    CHECK(r.err.find(adapter + ": tensors \"base_model.model.distilbert.transformer.layer.0."
                               "attention.q_lin.lora_*\": are finite, but the weight they make "
                               "(W + s*B*A) holds Inf") != std::string::npos);
    CHECK(r.out.empty());
  }
  SUBCASE("a saved head of 3e38: the logits overflow") {
    copy_with_every_value((demo_run() / "adapter_model.safetensors").string(), adapter,
                          "model.classifier.weight", 3e38f);
    const Result r = run("predict", args);
    check_one_line_error(r);
    CHECK(r.err.find("two.txt:1: the logits are not finite (NaN or Inf): the weights in " +
                     adapter + " overflow float32") != std::string::npos);
    CHECK(r.out.empty());
  }
}

TEST_CASE("train: a --config that spells one setting two ways is refused") {
  if (!have_apps()) return;
  write(scratch() / "both.json", R"({"batch-size": 8, "batch_size": 16})");
  const Result r =
      run("train", demo_args("both_spellings") + " --config " + (scratch() / "both.json").string());
  check_one_line_error(r);
  CHECK(r.err.find("both.json: \"batch-size\" and \"batch_size\" are the same setting") !=
        std::string::npos);
  write(scratch() / "twice.json", R"({"lr": 0.1, "lr": 0.2})");
  const Result twice =
      run("train", demo_args("twice") + " --config " + (scratch() / "twice.json").string());
  check_one_line_error(twice);
  CHECK(twice.err.find("twice.json: setting \"lr\" appears twice") != std::string::npos);
}
