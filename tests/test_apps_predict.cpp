// Using a trained run as a transformers + PEFT user does: predict's scores and formats,
// predict --evaluate, merge from the run alone, label names, and the loading notices.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "app_runner.h"
#include "fixture.h"

using namespace app_runner;
namespace fs = std::filesystem;

// tests/fixtures/predict-eval: a tiny DistilBERT classifier folder (labels bad, ok, good) and a
// labelled TSV. The expected numbers were printed by its make_fixture.py
// (/work/main/.venv/bin/python tests/fixtures/predict-eval/make_fixture.py): transformers'
// logits, argmax, then sklearn.metrics accuracy_score, f1_score(average="macro"),
// log_loss(labels=[0, 1, 2]) and confusion_matrix(labels=[0, 1, 2]).
static const std::string kEvalRun = fixture::path("predict-eval");
static const std::string kFp32 = " --threads 1 --precision fp32";

TEST_CASE("predict --evaluate: accuracy, macro-F1, loss and confusion matrix are scikit-learn's") {
  const fs::path metrics = scratch() / "eval_metrics.json";
  const Result r =
      run("predict", "--run " + kEvalRun + " --input " + kEvalRun +
                         "/labelled.tsv --evaluate --metrics-out " + metrics.string() + kFp32);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find(": 12 examples\naccuracy 0.4167, macro-F1 0.3238, loss 5.8943\n") !=
        std::string::npos);
  CHECK(r.out.find("confusion matrix (rows: true label, columns: predicted label):\n"
                   "         bad    ok  good\n"
                   "   bad     4     1     0\n"
                   "    ok     3     0     0\n"
                   "  good     2     1     1\n") != std::string::npos);
  const auto m = nlohmann::json::parse(slurp(metrics));
  CHECK(m["examples"] == 12);
  CHECK(m["accuracy"].get<double>() == doctest::Approx(0.4166666666666667).epsilon(1e-15));
  CHECK(m["macro_f1"].get<double>() == doctest::Approx(0.3238095238095238).epsilon(1e-15));
  CHECK(m["loss"].get<double>() == doctest::Approx(5.894254033953106).epsilon(1e-5));
  CHECK(m["labels"] == nlohmann::json({"bad", "ok", "good"}));
  CHECK(m["confusion_matrix"] == nlohmann::json({{4, 1, 0}, {3, 0, 0}, {2, 1, 1}}));
}

TEST_CASE("predict --evaluate: an unknown label names the file and line; nothing is written") {
  const fs::path file = scratch() / "unknown_label.tsv", metrics = scratch() / "unknown.json";
  write(file, "sentence\tlabel\nthe film was good .\tgood\na dull movie\tmeh\n");
  const Result r = run("predict", "--run " + kEvalRun + " --input " + file.string() +
                                      " --evaluate --metrics-out " + metrics.string() + kFp32);
  check_one_line_error(r);
  CHECK(r.err.find(file.string() + ":3: label \"meh\" is not one of the known labels "
                                   "{bad, ok, good}") != std::string::npos);
  CHECK_FALSE(fs::exists(metrics));
  check_one_line_error(run("predict", "--run " + kEvalRun + " --evaluate" + kFp32));
  check_one_line_error(
      run("predict", "--run " + kEvalRun + " --metrics-out " + metrics.string() + kFp32));
}

TEST_CASE("predict: every class's probability and the logits, as text, tsv and jsonl") {
  const fs::path texts = scratch() / "scores_texts.txt";
  write(texts, "the film was good .\n");
  const std::string args = "--run " + kEvalRun + " --input " + texts.string() + kFp32;
  // The default output is unchanged: label, probability with 4 decimals, text.
  CHECK(run("predict", args).out == "ok\t0.9531\tthe film was good .\n");
  CHECK(run("predict", args + " --all-scores --logits").out ==
        "ok\t0.9531\tbad=0.0001 ok=0.9531 good=0.0467\tbad=9.9378 ok=18.8009 good=15.7859"
        "\tthe film was good .\n");
  const Result tsv = run("predict", args + " --all-scores --format tsv");
  CHECK(tsv.out.rfind("label\tscore\tscore:bad\tscore:ok\tscore:good\ttext\nok\t0.95311", 0) == 0);

  const Result jsonl = run("predict", args + " --all-scores --logits --format jsonl");
  INFO(jsonl.err);
  REQUIRE(jsonl.code == 0);
  const auto j = nlohmann::json::parse(jsonl.out);
  CHECK(j["label"] == "ok");
  CHECK(j["text"] == "the film was good .");
  // transformers' logits and softmax for this line (make_fixture.py prints them).
  CHECK(j["logits"]["bad"].get<double>() == doctest::Approx(9.937766075134277).epsilon(1e-5));
  CHECK(j["logits"]["ok"].get<double>() == doctest::Approx(18.800884246826172).epsilon(1e-5));
  CHECK(j["logits"]["good"].get<double>() == doctest::Approx(15.785856246948242).epsilon(1e-5));
  CHECK(j["scores"]["bad"].get<double>() == doctest::Approx(0.00013487896649166942).epsilon(1e-4));
  CHECK(j["scores"]["ok"].get<double>() == doctest::Approx(0.9531198740005493).epsilon(1e-5));
  CHECK(j["scores"]["good"].get<double>() == doctest::Approx(0.04674524813890457).epsilon(1e-4));
  // Full precision: the jsonl score and the tsv score are the same float32.
  const std::string tsv_score = tsv.out.substr(tsv.out.find("\nok\t") + 4, 11);
  CHECK(float(j["score"].get<double>()) == std::stof(tsv_score));
  CHECK(j["score"] == j["scores"]["ok"]);
}

// A base model folder without a classification head (as downloaded): the tiny DistilBERT
// fixture's encoder alone.
static fs::path headless_base() {
  const fs::path base = scratch() / "headless_base";
  if (!fs::exists(base)) fs::copy(fixture::path("base-distilbert"), base);
  return base;
}

TEST_CASE("a run whose adapter saves the head loads without the 'newly initialised' notice") {
  const fs::path base = headless_base(), run_dir = scratch() / "headless_run";
  const std::string train = "--model " + base.string() +
                            " --demo --demo-size 60 --max-steps 2 --threads 1 --quiet-params"
                            " --overwrite --out ";
  const Result t = run("train", train + run_dir.string());
  INFO(t.out << t.err);
  REQUIRE(t.code == 0);
  // Training does start from a fresh head: said there.
  CHECK(t.out.find("has no classification head; newly initialised") != std::string::npos);
  const fs::path texts = scratch() / "headless_texts.txt";
  write(texts, "a great film .\n");
  const Result p =
      run("predict", "--run " + run_dir.string() + " --input " + texts.string() + kFp32);
  INFO(p.err);
  REQUIRE(p.code == 0);
  CHECK(p.err.find("no classification head") == std::string::npos);
  const Result h = run("hidden_states", "--model " + base.string() + " --input " + texts.string() +
                                            " --tokenizer " + run_dir.string());
  INFO(h.err);
  REQUIRE(h.code == 0);
  CHECK(h.err.find("no classification head") == std::string::npos);

  // merge needs no --model: the run records its base (adapter_config.json), checked by digest.
  const fs::path merged = scratch() / "headless_merged";
  const Result m = run("merge", "--run " + run_dir.string() + " --out " + merged.string());
  INFO(m.err);
  REQUIRE(m.code == 0);
  CHECK(m.err.find("no classification head") == std::string::npos);
  CHECK(m.out == "wrote " + merged.string() + ": base " + base.string() + " with adapter " +
                     run_dir.string() + " merged in (the base folder is unchanged)\n");
  const auto config = nlohmann::json::parse(slurp(merged / "config.json"));
  CHECK(config["id2label"] == nlohmann::json({{"0", "negative"}, {"1", "positive"}}));
  const Result pm =
      run("predict", "--run " + merged.string() + " --labels " +
                         (run_dir / "labels.json").string() + " --input " + texts.string() + kFp32);
  CHECK(pm.out == p.out);  // merging is exact in fp32 up to the 4 printed decimals here

  // With the head left out of the adapter (--train-head=false) the notice is true: kept.
  const fs::path bare = scratch() / "headless_run_bare";
  REQUIRE(run("train", train + bare.string() + " --train-head=false").code == 0);
  const Result pb = run("predict", "--run " + bare.string() + " --input " + texts.string() + kFp32);
  CHECK(pb.err.find("has no classification head; newly initialised:") != std::string::npos);
}

TEST_CASE("merge: --run or --adapter is needed; --model still overrides the recorded base") {
  check_one_line_error(run("merge", "--out " + (scratch() / "merge_nothing").string()));
  const fs::path out = scratch() / "merge_override";
  const Result r =
      run("merge", "--adapter " + fixture::path("peft/saved-adapter-distilbert") + " --model " +
                       fixture::path("tiny-distilbert") + " --out " + out.string());
  INFO(r.err);
  CHECK(r.code == 0);
  // The PEFT fixture records the relative base "tiny-distilbert": from here, no such folder.
  const Result missing =
      run("merge", "--adapter " + fixture::path("peft/saved-adapter-distilbert") + " --out " +
                       (scratch() / "merge_missing").string());
  check_one_line_error(missing);
  CHECK(missing.err.find("adapter_config.json: base_model_name_or_path tiny-distilbert: no such "
                         "folder") != std::string::npos);
}

TEST_CASE("SST-2's 0/1 labels are named negative/positive; its files still read as 0/1") {
  const fs::path dir = scratch() / "sst2";
  fs::create_directories(dir);
  // A word-level vocabulary (the uncased fixture's) and a tiny model that has room for it.
  write(dir / "config.json", R"({"model_type": "distilbert", "vocab_size": 2100, "dim": 16,
    "n_layers": 1, "n_heads": 2, "hidden_dim": 32, "max_position_embeddings": 32})");
  std::string rows = "sentence\tlabel\n";
  for (int i = 0; i < 20; ++i) rows += i % 2 ? "a fine film .\t1\n" : "a bad film .\t0\n";
  write(dir / "train.tsv", rows);
  const fs::path run_dir = scratch() / "sst2_run";
  const Result t =
      run("train",
          "--model " + (dir / "config.json").string() + " --tokenizer " +
              fixture::path("tokenizer/uncased") + " --train " + (dir / "train.tsv").string() +
              " --max-steps 2 --threads 1 --quiet-params --overwrite --out " + run_dir.string());
  INFO(t.out << t.err);
  REQUIRE(t.code == 0);
  const auto labels = nlohmann::json::parse(slurp(run_dir / "labels.json"));
  CHECK(labels["id2label"] == nlohmann::json({{"0", "negative"}, {"1", "positive"}}));
  CHECK(labels["data_labels"] == nlohmann::json({{"0", "0"}, {"1", "1"}}));
  const Result e = run("predict", "--run " + run_dir.string() + " --input " +
                                      (dir / "train.tsv").string() + " --evaluate" + kFp32);
  INFO(e.err);
  CHECK(e.code == 0);
  CHECK(e.out.find(": 20 examples\n") != std::string::npos);
  INFO(e.out);
  CHECK(e.out.find("\n            negative  positive\n  negative") != std::string::npos);
}

TEST_CASE("count_params prints PEFT's exact line for a tiny DistilBERT, then the distinct count") {
  // PEFT 0.21.2, computed once with /work/main/.venv/bin/python:
  //   m = DistilBertForSequenceClassification(DistilBertConfig(vocab_size=128, dim=32,
  //       n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=64, num_labels=2))
  //   get_peft_model(m, LoraConfig(task_type="SEQ_CLS", r=8, lora_alpha=16,
  //       target_modules=["q_lin", "v_lin"], modules_to_save=["pre_classifier", "classifier"]))
  //       .print_trainable_parameters()
  write(scratch() / "count_config.json",
        R"({"model_type": "distilbert", "vocab_size": 128, "dim": 32, "n_layers": 2,
        "n_heads": 4, "hidden_dim": 64, "max_position_embeddings": 64})");
  const Result r =
      run("count_params", "--quiet --model " + (scratch() / "count_config.json").string());
  CHECK(r.out ==
        "trainable params: 3,170 || all params: 27,588 || trainable%: 11.4905\n"
        "(distinct parameters: 26,466, trainable%: 11.9776; PEFT counts the 1,122 parameters of "
        "modules_to_save twice: the frozen original and the trained copy)\n");
}
