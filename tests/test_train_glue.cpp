// GLUE in the train app: --task presets on small files in each of GLUE's nine TSV layouts,
// regression (STS-B) end to end with predict printing scores, the task metrics in summary.json,
// tools/glue.sh over a folder of them, and the one-line errors of the task flags.
#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "app_runner.h"
#include "fixture.h"

using namespace app_runner;
using nlohmann::json;

namespace {

// Words of the tokenizer fixture's vocabulary: a sentence of the "good" words is class 1.
const char* kGood[] = {"good", "great", "fine", "happy", "nice"};
const char* kBad[] = {"bad", "sad", "poor", "ugly", "dark"};

// Sentence i: `good` of 4 words from kGood, the rest from kBad.
std::string sentence(int i, int good) {
  std::string s;
  for (int w = 0; w < 4; ++w)
    s += std::string(w ? " " : "") + (w < good ? kGood[(i + w) % 5] : kBad[(i + w) % 5]);
  return s;
}

// One split of a task in GLUE's layout (the header and columns of GLUE's own files).
std::string glue_file(const std::string& task, int rows, bool dev) {
  std::string t;
  const bool mnli_dev = task == "MNLI" && dev;
  if (task == "SST-2") t = "sentence\tlabel\n";
  if (task == "MRPC") t = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n";
  if (task == "QQP") t = "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n";
  if (task == "STS-B")
    t = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n";
  if (task == "MNLI")
    t = std::string("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\t") +
        "sentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\t" +
        (mnli_dev ? "label1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label\n"
                  : "label1\tgold_label\n");
  if (task == "QNLI") t = "index\tquestion\tsentence\tlabel\n";
  if (task == "RTE" || task == "WNLI") t = "index\tsentence1\tsentence2\tlabel\n";
  for (int i = 0; i < rows; ++i) {
    const int y = i % 2, k = i % 5;  // class, and STS-B's score 0..4
    const std::string a = sentence(i, y ? 4 : 0), b = sentence(i + 1, y ? 4 : 0);
    const std::string id = std::to_string(i);
    const std::string nli = y ? "entailment" : "not_entailment";
    if (task == "CoLA") t += "gj04\t" + std::to_string(y) + "\t" + (y ? "" : "*") + "\t" + a + "\n";
    if (task == "SST-2") t += a + "\t" + std::to_string(y) + "\n";
    if (task == "MRPC")
      t += std::to_string(y) + "\t" + id + "\t" + id + "0\t" + a + "\t" + b + "\n";
    if (task == "QQP")
      t += id + "\t" + id + "\t" + id + "0\t" + a + " ?\t" + b + " ?\t" + std::to_string(y) + "\n";
    if (task == "STS-B")
      t += id + "\tmain-news\tx\t2012\t" + id + "\tnone\tnone\t" + sentence(i, k) + "\t" +
           sentence(i + 2, k) + "\t" + std::to_string(k) + ".000\n";
    if (task == "MNLI") {
      const char* gold[] = {"contradiction", "entailment", "neutral"};
      const std::string g = gold[i % 3];
      t += id + "\t1\t1e\tfiction\t( a )\t( b )\t(ROOT a)\t(ROOT b)\t" + sentence(i, i % 3 * 2) +
           "\t" + sentence(i + 1, i % 3 * 2) + "\t" + g + "\t" +
           (mnli_dev ? g + "\t" + g + "\t" + g + "\t" + g + "\t" : "") + g + "\n";
    }
    if (task == "QNLI" || task == "RTE") t += id + "\t" + a + "\t" + b + "\t" + nli + "\n";
    if (task == "WNLI") t += id + "\t" + a + "\t" + b + "\t" + std::to_string(y) + "\n";
  }
  if (task == "QQP" && !dev) t += "999\t999\tonly four fields\n";  // as GLUE's QQP train.tsv has
  return t;
}

const char* kTasks[] = {"CoLA", "SST-2", "MRPC", "QQP", "STS-B", "MNLI", "QNLI", "RTE", "WNLI"};

// scratch()/glue: GLUE's folder layout, 40 training and 12 dev rows per task.
const fs::path& glue_dir() {
  static const fs::path dir = [] {
    const fs::path d = scratch() / "glue";
    for (const char* task : kTasks) {
      fs::create_directories(d / task);
      write(d / task / "train.tsv", glue_file(task, 40, false));
      write(d / task / (std::string(task) == "MNLI" ? "dev_matched.tsv" : "dev.tsv"),
            glue_file(task, 12, true));
    }
    return d;
  }();
  return dir;
}

// A tiny BERT (pairs need token types) whose vocabulary holds the tokenizer fixture's.
std::string tiny_bert() {
  const fs::path config = scratch() / "tiny-bert-glue" / "config.json";
  if (!fs::exists(config)) {
    fs::create_directories(config.parent_path());
    write(config, R"({"model_type": "bert", "vocab_size": 2100, "hidden_size": 32,
      "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 48,
      "max_position_embeddings": 64, "type_vocab_size": 2, "initializer_range": 0.2})");
  }
  return config.string();
}

std::string tokenizer() {
  return fixture::path("tokenizer/uncased");
}

// train on one task's files with the tiny model, quickly.
std::string task_args(const std::string& task, const std::string& folder, const std::string& out) {
  const fs::path f = glue_dir() / folder;
  return "--model " + tiny_bert() + " --tokenizer " + tokenizer() + " --task " + task +
         " --train " + (f / "train.tsv").string() + " --test " +
         (f / (task == "mnli" ? "dev_matched.tsv" : "dev.tsv")).string() +
         " --epochs 2 --batch-size 8 --lr 5e-3 --max-length 32 --threads 1 --quiet-params"
         " --skip-bad-rows --out " +
         (scratch() / out).string();
}

json summary_of(const std::string& out) {
  return json::parse(slurp(scratch() / out / "summary.json"));
}

}  // namespace

TEST_CASE("train --task stsb: a regression, Pearson and Spearman reported, predict prints scores") {
  if (!have_apps()) return;
  const Result r = run("train", task_args("stsb", "STS-B", "glue-stsb"));
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  // dev.tsv's scores are i % 5 for i = 0..11: 0 to 4, mean 21 / 12.
  CHECK(r.out.find("test: 12 examples (labels 0 to 4, mean 1.75)") != std::string::npos);
  CHECK(r.out.find("val_pearson ") != std::string::npos);
  CHECK(r.out.find("val_acc") == std::string::npos);
  CHECK(r.out.find("test (12 examples, pearson ") != std::string::npos);
  const json s = summary_of("glue-stsb");
  CHECK(s["problem_type"] == "regression");
  CHECK(s["metric"] == "pearson");
  CHECK(s["task"] == "stsb");
  CHECK(s.contains("best_val_pearson"));
  CHECK_FALSE(s.contains("best_val_acc"));
  CHECK_FALSE(s.contains("test_acc"));
  for (const char* key : {"test_pearson", "test_spearman", "test_loss"}) {
    INFO(key);
    REQUIRE(s.contains(key));
    CHECK(s[key].get<double>() >= -1.0);
  }
  // One output, saved so that transformers builds the regression head: problem_type and
  // num_labels 1 (id2label LABEL_0) in the random base's config.json.
  const json config = json::parse(slurp(scratch() / "glue-stsb" / "base-model" / "config.json"));
  CHECK(config["problem_type"] == "regression");
  CHECK(config["id2label"] == json{{"0", "LABEL_0"}});
  // The metrics log: val_pearson, never val_acc.
  const std::string metrics = slurp(scratch() / "glue-stsb" / "metrics.jsonl");
  CHECK(metrics.find("\"val_pearson\"") != std::string::npos);
  CHECK(metrics.find("\"val_acc\"") == std::string::npos);
  // predict: the predicted score, then the texts.
  write(scratch() / "pairs.txt", "good great fine happy\tgood nice fine great\n");
  const Result p = run("predict", "--run " + (scratch() / "glue-stsb").string() + " --input " +
                                      (scratch() / "pairs.txt").string());
  INFO(p.err);
  REQUIRE(p.code == 0);
  const size_t tab = p.out.find('\t');
  REQUIRE(tab != std::string::npos);
  size_t used = 0;
  std::stod(p.out.substr(0, tab), &used);
  CHECK(used == tab);  // a number, not a label name
  CHECK(p.out.substr(tab + 1) == "good great fine happy\tgood nice fine great\n");

  // predict --evaluate on dev.tsv: the MSE and Pearson of the run's own scores, computed here by
  // hand from predict's per-line answers (jsonl, full precision) and dev's scores k = i % 5.
  std::string texts;
  for (int i = 0; i < 12; ++i) texts += sentence(i, i % 5) + "\t" + sentence(i + 2, i % 5) + "\n";
  write(scratch() / "stsb-dev.txt", texts);
  const std::string common = "--run " + (scratch() / "glue-stsb").string() + " --precision fp32";
  const Result lines =
      run("predict", common + " --format jsonl --input " + (scratch() / "stsb-dev.txt").string());
  REQUIRE(lines.code == 0);
  std::vector<double> score, target;
  std::istringstream answers(lines.out);
  for (std::string line; std::getline(answers, line);) {
    score.push_back(json::parse(line)["score"].get<double>());
    target.push_back(double(int(target.size()) % 5));
  }
  REQUIRE(score.size() == 12);
  double ms = 0, mt = 0, mse = 0, sst = 0, sss = 0, sts = 0;
  for (size_t i = 0; i < 12; ++i) ms += score[i] / 12, mt += target[i] / 12;
  for (size_t i = 0; i < 12; ++i) {
    mse += (score[i] - target[i]) * (score[i] - target[i]) / 12;
    sss += (score[i] - ms) * (score[i] - ms), sst += (target[i] - mt) * (target[i] - mt);
    sts += (score[i] - ms) * (target[i] - mt);
  }
  const fs::path metrics_file = scratch() / "stsb-metrics.json";
  const Result e = run("predict", common + " --evaluate --metrics-out " + metrics_file.string() +
                                      " --input " + (glue_dir() / "STS-B" / "dev.tsv").string());
  INFO(e.err);
  REQUIRE(e.code == 0);
  CHECK(e.out.find("loss (MSE) ") != std::string::npos);
  CHECK(e.out.find("confusion") == std::string::npos);
  const json m = json::parse(slurp(metrics_file));
  CHECK(m["examples"] == 12);
  CHECK_FALSE(m.contains("accuracy"));
  CHECK(m["loss"].get<double>() == doctest::Approx(mse));
  CHECK(m["pearson"].get<double>() == doctest::Approx(sts / std::sqrt(sss * sst)));
  CHECK(m.contains("spearman"));
}

TEST_CASE("train --task cola reads GLUE's header-less file and reports the Matthews correlation") {
  if (!have_apps()) return;
  const Result r = run("train", task_args("cola", "CoLA", "glue-cola"));
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("train: 36 examples (0 18, 1 18)") != std::string::npos);
  CHECK(r.out.find("val_matthews ") != std::string::npos);
  const json s = summary_of("glue-cola");
  CHECK(s["metric"] == "matthews");
  CHECK(s.contains("best_val_matthews"));
  CHECK(s.contains("test_matthews"));
  CHECK(s.contains("test_acc"));  // CoLA's second metric
  CHECK(s["problem_type"] == "single_label_classification");
}

TEST_CASE("train --task mrpc reports accuracy (picks the best) and F1 of class 1") {
  if (!have_apps()) return;
  const Result r = run("train", task_args("mrpc", "MRPC", "glue-mrpc"));
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const json s = summary_of("glue-mrpc");
  CHECK(s["metric"] == "accuracy");
  CHECK(s.contains("best_val_acc"));
  CHECK(s.contains("test_f1"));
  CHECK(s.contains("test_acc"));
}

TEST_CASE("tools/glue.sh trains every GLUE task in a folder and prints the table") {
  if (!have_apps()) return;
  const fs::path out = scratch() / "glue-runs";
  const std::string build = fs::path(ADAPTGRAD_BIN).parent_path().string();
  const Result r =
      run_command("BUILD_DIR=" + build + " " + ADAPTGRAD_SOURCE_DIR + "/tools/glue.sh " +
                  glue_dir().string() + " --model " + tiny_bert() + " --tokenizer " + tokenizer() +
                  " --out " + out.string() + " -- --epochs 1 --max-length 32 --threads 1");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  for (const char* row :
       {"| CoLA | matthews / accuracy | ", "| SST-2 | accuracy | ", "| MRPC | accuracy / f1 | ",
        "| QQP | accuracy / f1 | ", "| STS-B | pearson / spearman | ", "| MNLI | accuracy | ",
        "| QNLI | accuracy | ", "| RTE | accuracy | ", "| WNLI | accuracy | "}) {
    INFO(row);
    CHECK(r.out.find(row) != std::string::npos);
  }
  CHECK(slurp(out / "results.md") == r.out);
  // QQP's broken row (four fields) was skipped and counted, as GLUE's real file needs.
  CHECK(slurp(out / "qqp.log").find("skipped 1 bad rows") != std::string::npos);
  // MNLI: three classes, dev_matched.tsv as the test set.
  CHECK(slurp(out / "mnli.log").find("3 labels {contradiction, entailment, neutral}") !=
        std::string::npos);
  CHECK(slurp(out / "mnli" / "metrics.jsonl").find("\"test_examples\":12") != std::string::npos);
}

TEST_CASE("tools/glue.sh: a folder without GLUE's files, an unknown task") {
  if (!have_apps()) return;
  fs::create_directories(scratch() / "not-glue");
  const std::string glue = std::string(ADAPTGRAD_SOURCE_DIR) + "/tools/glue.sh ";
  const std::string build = "BUILD_DIR=" + fs::path(ADAPTGRAD_BIN).parent_path().string() + " ";
  Result r =
      run_command(build + glue + (scratch() / "not-glue").string() + " --model " + tiny_bert());
  CHECK(r.code == 1);
  CHECK(r.err.find("holds none of GLUE's folders") != std::string::npos);
  r = run_command(build + glue + glue_dir().string() + " --model " + tiny_bert() +
                  " --tasks mrpc,squad");
  CHECK(r.code == 1);
  CHECK(r.err.find("unknown task 'squad'") != std::string::npos);
}

TEST_CASE("train: the task flags' one-line errors") {
  if (!have_apps()) return;
  const std::string stsb = task_args("stsb", "STS-B", "glue-bad");
  SUBCASE("an unknown task lists GLUE's") {
    const Result r = run("train", stsb + " --task squad");
    check_one_line_error(r);
    CHECK(r.err.find("--task must be one of cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli") !=
          std::string::npos);
  }
  SUBCASE("multi-label classification is not implemented") {
    const Result r = run("train", stsb + " --problem-type multi_label_classification");
    check_one_line_error(r);
    CHECK(r.err.find("multi_label_classification is not implemented") != std::string::npos);
  }
  SUBCASE("a correlation metric on a classification task") {
    const Result r = run("train", task_args("rte", "RTE", "glue-bad") + " --metric pearson");
    check_one_line_error(r);
    CHECK(r.err.find("--metric pearson is a regression metric") != std::string::npos);
  }
  SUBCASE("F1 of class 1 on three classes") {
    const Result r = run("train", task_args("mnli", "MNLI", "glue-bad") + " --metric f1");
    check_one_line_error(r);
    CHECK(r.err.find("--metric f1 is the F1 of class 1 of a two-class task, but the labels are "
                     "{contradiction, entailment, neutral}") != std::string::npos);
  }
  SUBCASE("a regression label that is not a number names file and line") {
    const fs::path bad = scratch() / "stsb-bad.tsv";
    write(bad, "sentence1\tsentence2\tscore\ngood\tbad\t3.5\ngood\tnice\tn/a\n");
    std::string strict = stsb;  // without --skip-bad-rows
    strict.erase(strict.find(" --skip-bad-rows"), std::string(" --skip-bad-rows").size());
    const Result r = run("train", strict + " --train " + bad.string());
    check_one_line_error(r);
    CHECK(r.err.find(bad.string() + ":3: label \"n/a\" is not a finite number") !=
          std::string::npos);
  }
  SUBCASE("regression labels that never vary") {
    const fs::path flat = scratch() / "stsb-flat.tsv";
    write(flat, "sentence1\tsentence2\tscore\ngood\tbad\t2\ngood\tnice\t2.0\nbad\tsad\t2\n");
    const Result r = run("train", stsb + " --train " + flat.string() + " --val-split 0.34");
    check_one_line_error(r);
    CHECK(r.err.find("every training label is 2.000000; a regression needs labels that vary") !=
          std::string::npos);
  }
  SUBCASE("regression on the synthetic demo") {
    const Result r = run("train", "--model " + tiny_bert() + " --demo --problem-type regression");
    check_one_line_error(r);
    CHECK(r.err.find("--problem-type regression needs a data file with numeric labels") !=
          std::string::npos);
  }
  CHECK_FALSE(fs::exists(scratch() / "glue-bad" / "summary.json"));
}
