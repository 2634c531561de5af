// End-to-end tests of build/bin/train and build/bin/predict, run as processes on the synthetic
// demo task with a tiny randomly initialised DistilBERT (tests/app_runner.h), one thread, a
// few dozen steps: identical reruns, Ctrl-C / SIGKILL and resume, NaN stops, and a one-line
// error for each kind of bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "app_runner.h"
#include "fixture.h"

namespace fs = std::filesystem;
using namespace app_runner;

TEST_CASE("train: two runs with the same seed give identical metrics and adapters") {
  if (!have_apps()) {
    MESSAGE("build the train and predict apps to run this test");
    return;
  }
  const Result a = run("train", demo_args("same_a"));
  INFO(a.out << a.err);
  REQUIRE(a.code == 0);
  const Result b = run("train", demo_args("same_b"));
  REQUIRE(b.code == 0);
  const fs::path A = scratch() / "same_a", B = scratch() / "same_b";
  for (const char* f : {"adapter_model.safetensors", "adapter_config.json", "labels.json",
                        "vocab.txt", "train_config.json", "metrics.jsonl", "curves.svg",
                        "summary.json", "checkpoint/checkpoint.safetensors", "base-model"})
    CHECK_MESSAGE(fs::exists(A / f), f);
  CHECK(slurp(A / "metrics.jsonl") == slurp(B / "metrics.jsonl"));
  CHECK(slurp(A / "adapter_model.safetensors") == slurp(B / "adapter_model.safetensors"));
  CHECK(a.out.find("SYNTHETIC") != std::string::npos);
  CHECK(a.out.find("trainable params: ") != std::string::npos);
  CHECK(slurp(A / "metrics.jsonl").find("\"event\":\"test\"") != std::string::npos);
  CHECK(slurp(A / "curves.svg").find("</svg>") != std::string::npos);

  // predict labels texts from the run folder alone.
  write(scratch() / "texts.txt", "the plot was truly wonderful .\n\nthe cast was awful .\n");
  const Result p = run("predict", "--run " + A.string() + " --input " +
                                      (scratch() / "texts.txt").string() + " --threads 1");
  INFO(p.err);
  REQUIRE(p.code == 0);
  CHECK(std::count(p.out.begin(), p.out.end(), '\n') == 3);  // the blank line too
  CHECK(p.out.find("\tthe plot was truly wonderful .\n") != std::string::npos);
  CHECK((p.out.rfind("negative\t", 0) == 0 || p.out.rfind("positive\t", 0) == 0));
}

TEST_CASE("train: Ctrl-C writes a checkpoint and --resume finishes bit-identically") {
  if (!have_apps()) return;
  const Result ref = run("train", demo_args("ref"));
  REQUIRE(ref.code == 0);
  // SIGINT after step 7 (mid-epoch, between evaluations): checkpoint, exit 130.
  const Result stopped = run("train_faults", demo_args("sigint") + " --interrupt-at-step 7");
  INFO(stopped.out << stopped.err);
  REQUIRE(stopped.code == 130);
  CHECK(stopped.out.find("resume with") != std::string::npos);
  CHECK(checkpoint_step("sigint") == 7);
  CHECK_FALSE(fs::exists(scratch() / "sigint" / "adapter_model.safetensors"));
  const Result resumed = run("train", "--resume " + (scratch() / "sigint").string());
  INFO(resumed.out << resumed.err);
  REQUIRE(resumed.code == 0);
  CHECK(resumed.out.find("resumed from") != std::string::npos);
  CHECK(slurp(scratch() / "sigint" / "adapter_model.safetensors") ==
        slurp(scratch() / "ref" / "adapter_model.safetensors"));
  CHECK(slurp(scratch() / "sigint" / "metrics.jsonl") ==
        slurp(scratch() / "ref" / "metrics.jsonl"));
  check_same_checkpoint_tensors("sigint", "ref");
}

TEST_CASE("train: SIGKILL between checkpoints, then --resume, gives the same adapter") {
  if (!have_apps()) return;
  if (!fs::exists(scratch() / "ref" / "adapter_model.safetensors"))
    REQUIRE(run("train", demo_args("ref")).code == 0);
  // Killed (no handler runs) at step 23: the last checkpoint is step 20, the end of epoch 1.
  const Result killed = run("train_faults", demo_args("sigkill") + " --kill-at-step 23");
  REQUIRE(killed.code == 128 + SIGKILL);
  CHECK(checkpoint_step("sigkill") == 20);
  const Result resumed =
      run("train", "--resume " + (scratch() / "sigkill" / "checkpoint").string());
  INFO(resumed.out << resumed.err);
  REQUIRE(resumed.code == 0);
  CHECK(slurp(scratch() / "sigkill" / "adapter_model.safetensors") ==
        slurp(scratch() / "ref" / "adapter_model.safetensors"));
  CHECK(slurp(scratch() / "sigkill" / "metrics.jsonl") ==
        slurp(scratch() / "ref" / "metrics.jsonl"));
  check_same_checkpoint_tensors("sigkill", "ref");
}

TEST_CASE("train: a NaN loss stops with the step number and keeps the last good checkpoint") {
  if (!have_apps()) return;
  const Result r = run("train_faults", demo_args("nan") + " --checkpoint-every 5 --nan-at-step 13");
  check_one_line_error(r);
  CHECK(r.err.find("NaN at step 13") != std::string::npos);
  CHECK(r.err.find("checkpoint") != std::string::npos);
  CHECK(checkpoint_step("nan") == 10);
  CHECK_FALSE(fs::exists(scratch() / "nan" / "adapter_model.safetensors"));
  const Result resumed = run("train", "--resume " + (scratch() / "nan").string());
  CHECK(resumed.code == 0);
}

TEST_CASE("train: bad input gives one line on stderr and a non-zero exit") {
  if (!have_apps()) return;
  const std::string tiny = (scratch() / "tiny" / "config.json").string();
  const std::string tok = fixture::path("tokenizer/uncased");
  std::string rows = "sentence\tlabel\n";
  for (int i = 0; i < 10; ++i) rows += "a fine film\t1\na dull film\t0\n";
  write(scratch() / "data.tsv", rows);
  write(scratch() / "empty.tsv", "sentence\tlabel\n");
  fs::create_directories(scratch() / "no_weights");
  fs::copy_file(fixture::path("tiny-distilbert/config.json"), scratch() / "no_weights/config.json",
                fs::copy_options::overwrite_existing);
  const std::string data = " --data " + (scratch() / "data.tsv").string();
  SUBCASE("unknown flag") {
    check_one_line_error(run("train", "--model " + tiny + " --demo --frobnicate 3"));
  }
  SUBCASE("missing model") {
    check_one_line_error(run("train", "--model /nonexistent/model --demo"));
  }
  SUBCASE("missing data file") {
    check_one_line_error(run("train", "--model " + tiny + " --data /nonexistent/data.tsv"));
  }
  SUBCASE("label column that does not exist") {
    const Result r = run(
        "train", "--model " + tiny + " --tokenizer " + tok + data + " --label-column sentiment");
    check_one_line_error(r);
    CHECK(r.err.find("sentiment") != std::string::npos);
  }
  SUBCASE("model folder without weights") {
    const Result r = run(
        "train", "--model " + (scratch() / "no_weights").string() + " --tokenizer " + tok + data);
    check_one_line_error(r);
    CHECK(r.err.find("model.safetensors") != std::string::npos);
  }
  SUBCASE("empty data") {
    check_one_line_error(run("train", "--model " + tiny + " --tokenizer " + tok + " --data " +
                                          (scratch() / "empty.tsv").string()));
  }
  SUBCASE("bad hyperparameter") {
    check_one_line_error(run("train", "--model " + tiny + " --demo --lr -1"));
    check_one_line_error(run("train", "--model " + tiny + " --demo --global-batch-size -8"));
    const Result r = run("train", "--model " + tiny + " --demo --method dora --dora-dropout some");
    check_one_line_error(r);
    CHECK(r.err.find("--dora-dropout") != std::string::npos);
  }
  SUBCASE("preset without a tokenizer") {
    const Result r = run("train", "--model distilbert-base-uncased" + data);
    check_one_line_error(r);
    CHECK(r.err.find("--tokenizer") != std::string::npos);
  }
  SUBCASE("predict without a run") {
    check_one_line_error(run("predict", "--run /nonexistent"));
  }
}

TEST_CASE("train: --config sets defaults that flags override") {
  if (!have_apps()) return;
  write(scratch() / "settings.json", R"({"weight_decay": 0.05, "batch_size": 4, "r": 4})");
  const Result r =
      run("train", demo_args("config") + " --config " + (scratch() / "settings.json").string() +
                       " --max-steps 2 --r 2");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const std::string saved = slurp(scratch() / "config" / "train_config.json");
  CHECK(saved.find("\"weight-decay\": 0.05") != std::string::npos);
  CHECK(saved.find("\"batch-size\": 8") != std::string::npos);  // the flag wins
  CHECK(saved.find("\"r\": 2") != std::string::npos);
  write(scratch() / "bad.json", R"({"learning_rate": 0.01})");
  check_one_line_error(
      run("train", demo_args("config2") + " --config " + (scratch() / "bad.json").string()));
}

TEST_CASE("train: --global-batch-size decides the batch in one process too") {
  if (!have_apps()) return;
  // demo_args has --batch-size 8; the global batch size wins over --batch-size, so this run
  // is the same run (the MPI tests check N processes against it).
  const Result a = run("train", demo_args("batch8"));
  const Result b = run("train", demo_args("global8") + " --batch-size 3 --global-batch-size 8");
  INFO(b.out << b.err);
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  CHECK(slurp(scratch() / "batch8" / "adapter_model.safetensors") ==
        slurp(scratch() / "global8" / "adapter_model.safetensors"));
}

// "label<TAB>score<TAB>text" lines -> (label, score) pairs.
static std::vector<std::pair<std::string, double>> labels_and_scores(const std::string& out) {
  std::vector<std::pair<std::string, double>> rows;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    const size_t a = line.find('\t'), b = line.find('\t', a + 1);
    rows.emplace_back(line.substr(0, a), std::stod(line.substr(a + 1, b - a - 1)));
  }
  return rows;
}

TEST_CASE("merge: the merged folder has the run's tokenizer and label names, and predicts alike") {
  if (!have_apps()) {
    MESSAGE("build the train, predict and merge apps to run this test");
    return;
  }
  const Result t = run("train", demo_args("merge_run"));
  INFO(t.out << t.err);
  REQUIRE(t.code == 0);
  const fs::path run_dir = scratch() / "merge_run", merged = scratch() / "merged";
  const Result m = run("merge", "--model " + (run_dir / "base-model").string() + " --adapter " +
                                    run_dir.string() + " --out " + merged.string());
  INFO(m.err);
  REQUIRE(m.code == 0);
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"})
    CHECK_MESSAGE(fs::exists(merged / f), f);
  CHECK(slurp(merged / "vocab.txt") == slurp(run_dir / "vocab.txt"));
  const auto config = nlohmann::json::parse(slurp(merged / "config.json"));
  CHECK(config["id2label"] == nlohmann::json({{"0", "negative"}, {"1", "positive"}}));
  CHECK(config["label2id"] == nlohmann::json({{"negative", 0}, {"positive", 1}}));

  write(scratch() / "merge_texts.txt",
        "the plot was truly wonderful .\nthe cast was awful .\na dull film\n");
  // fp32: merging is exact there; in bf16 the merged weight rounds differently (test_bf16).
  const std::string input =
      " --threads 1 --precision fp32 --input " + (scratch() / "merge_texts.txt").string();
  const Result a = run("predict", "--run " + run_dir.string() + input);
  const Result b = run("predict", "--run " + merged.string() + " --labels " +
                                      (run_dir / "labels.json").string() + input);
  INFO(a.err << b.err);
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  const auto ra = labels_and_scores(a.out), rb = labels_and_scores(b.out);
  REQUIRE(ra.size() == 3);
  REQUIRE(rb.size() == 3);
  for (size_t i = 0; i < ra.size(); ++i) {
    CHECK(ra[i].first == rb[i].first);
    CHECK(std::abs(ra[i].second - rb[i].second) <= 1.5e-4);  // printed with 4 decimals
  }
}

TEST_CASE("predict: a LoRA run without its adapter_config.json says so by that name") {
  if (!have_apps()) {
    MESSAGE("build the train and predict apps to run this test");
    return;
  }
  const Result t = run("train", demo_args("no_adapter_config"));
  REQUIRE(t.code == 0);
  const fs::path run_dir = scratch() / "no_adapter_config";
  fs::remove(run_dir / "adapter_config.json");
  write(scratch() / "one_text.txt", "the plot was truly wonderful .\n");
  const Result p = run(
      "predict", "--run " + run_dir.string() + " --input " + (scratch() / "one_text.txt").string());
  check_one_line_error(p);
  CHECK(p.err.find((run_dir / "adapter_config.json").string() + ": not found") !=
        std::string::npos);
}

TEST_CASE("train --save-data-order writes the split, token ids and each epoch's batches") {
  if (!have_apps()) return;
  const Result r = run("train", demo_args("order") + " --save-data-order");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const fs::path dir = scratch() / "order";
  std::vector<nlohmann::json> lines;
  std::istringstream file(slurp(dir / "data_order.jsonl"));
  for (std::string line; std::getline(file, line);) lines.push_back(nlohmann::json::parse(line));
  // A header, 200 demo sentences (split 0.8/0.1/0.1, stratified over two balanced labels),
  // then one line per epoch.
  REQUIRE(lines.size() == 1 + 200 + 2);
  const nlohmann::json& header = lines[0];
  CHECK(header["sizes"] == nlohmann::json{{"train", 160}, {"validation", 20}, {"test", 20}});
  CHECK(r.out.find("train: 160 examples") != std::string::npos);
  CHECK(header["batch_size"] == 8);
  CHECK(header["epochs"] == 2);
  std::map<std::string, std::vector<nlohmann::json>> splits;
  for (size_t i = 1; i <= 200; ++i) splits[lines[i]["split"]].push_back(lines[i]);
  REQUIRE(splits["train"].size() == 160);
  REQUIRE(splits["test"].size() == 20);

  // The ids are the word-level vocabulary's line numbers: [CLS] word... [SEP], where the
  // tokenizer splits "director 's" into "director", "'", "s".
  std::map<std::string, int> vocab;
  std::istringstream vocab_lines(slurp(dir / "vocab.txt"));
  int id = 0;
  for (std::string w; std::getline(vocab_lines, w);) vocab[w] = id++;
  for (const auto& e : splits["test"]) {
    std::vector<int> expected{vocab.at("[CLS]")};
    std::istringstream words(e["text"].get<std::string>());
    for (std::string w; words >> w;) {
      if (w == "'s") {
        expected.push_back(vocab.at("'"));
        w = "s";
      }
      expected.push_back(vocab.at(w));
    }
    expected.push_back(vocab.at("[SEP]"));
    CHECK(e["input_ids"].get<std::vector<int>>() == expected);
  }

  // Every epoch: 20 batches of 8 that together hold each training example once; with length
  // bucketing each batch runs from short to long; the two epochs' orders differ.
  for (int epoch = 0; epoch < 2; ++epoch) {
    const nlohmann::json& line = lines[1 + 200 + size_t(epoch)];
    CHECK(line["epoch"] == epoch);
    REQUIRE(line["batches"].size() == 20);
    std::vector<int> seen;
    for (const auto& b : line["batches"]) {
      CHECK(b.size() == 8);
      size_t previous = 0;
      for (int i : b.get<std::vector<int>>()) {
        seen.push_back(i);
        const size_t length = splits["train"][size_t(i)]["input_ids"].size();
        CHECK(length >= previous);
        previous = length;
      }
    }
    std::sort(seen.begin(), seen.end());
    std::vector<int> all(160);
    std::iota(all.begin(), all.end(), 0);
    CHECK(seen == all);
  }
  CHECK(lines[201]["batches"] != lines[202]["batches"]);
  // Off by default: ordinary runs do not write it.
  REQUIRE(run("train", demo_args("plain") + " --max-steps 1").code == 0);
  CHECK_FALSE(fs::exists(scratch() / "plain" / "data_order.jsonl"));
}
