// What the apps print for a first-time user: every flag's default in --help, train's short
// parameter listing (the full one behind --list-params), curves.svg's content, and
// train_config.json's paths.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "app_runner.h"

using namespace app_runner;

namespace {

// The option lines of CLI11's --help ("  --lr FLOAT=0.0005   peak learning rate"), each cut to
// its name and value part (before the description), --help itself left out.
std::vector<std::string> option_parts(const std::string& help) {
  std::vector<std::string> parts;
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  -", 0) != 0 || line.find("--help") != std::string::npos) continue;
    parts.push_back(line.substr(2, line.find("  ", 2) - 2));
  }
  return parts;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("--help of every app shows each flag's default") {
  for (const char* app :
       {"train", "predict", "merge", "count_params", "hidden_states", "bench", "tokenize"}) {
    INFO(app);
    const Result r = run(app, "--help");
    REQUIRE(r.code == 0);
    const std::vector<std::string> parts = option_parts(r.out);
    CHECK(parts.size() >= 3);
    for (const std::string& part : parts) {
      INFO(part);
      // "--lr FLOAT=0.0005", "--bucket=true"; only a text option may have none (its help says
      // what an empty one means: "default: the model folder").
      CHECK((part.find('=') != std::string::npos || part.find("TEXT") != std::string::npos));
    }
  }
  const Result train = run("train", "--help");
  CHECK(train.out.find("--train-head=true ") != std::string::npos);
  CHECK(train.out.find("--bucket=true ") != std::string::npos);
  CHECK(train.out.find("--list-params=false ") != std::string::npos);
  CHECK(train.out.find("--lr FLOAT=0.0005") != std::string::npos);
  const Result predict = run("predict", "--help");
  CHECK(predict.out.find("--batch-size INT=") != std::string::npos);
  CHECK(predict.out.find("--threads INT=") != std::string::npos);
}

TEST_CASE("lora_from_scratch --help prints help and exits without running") {
  const Result r = run("lora_from_scratch", "--help");
  CHECK(r.code == 0);
  CHECK(r.out.find("No flags") != std::string::npos);
  CHECK(r.out.find("trainable params") == std::string::npos);  // what a run prints
  const Result bad = run("lora_from_scratch", "--steps 3");
  CHECK(bad.code == 1);
  CHECK(bad.err.find("error: ") == 0);
}

TEST_CASE("tokenize --help explains --unicode-table instead of pointing at nothing") {
  const Result r = run("tokenize", "--help");
  CHECK(r.code == 0);
  CHECK(r.out.find("see above") == std::string::npos);
  CHECK(r.out.find("--unicode-table=false ") != std::string::npos);
  CHECK(r.out.find("NFD") != std::string::npos);
}

TEST_CASE("train lists the trainable parameters folded by layer; --list-params lists all") {
  const fs::path dir = scratch() / "listing";
  fs::create_directories(dir);
  // From inside `dir`, with a relative --out: train_config.json records it absolute.
  const std::string common = "--model " + (scratch() / "tiny" / "config.json").string() +
                             " --demo --demo-size 200 --batch-size 8 --epochs 2 --max-steps 10"
                             " --eval-every 5 --lr 5e-3 --threads 1 ";
  const Result r = run_command("cd " + dir.string() + " && ADAPTGRAD_BLAS_CHECK=0 " +
                               (bin_dir() / "train").string() + " " + common + "--out short");
  REQUIRE(r.code == 0);
  // The tiny DistilBERT (2 layers, dim 32): 48 tensors; LoRA r 8 on q_lin and v_lin of both
  // layers (A and B each: 8) and the head (pre_classifier, classifier: weight and bias: 4).
  CHECK(r.out.find("trainable: 12 of 48 tensors (--list-params lists every parameter)\n") !=
        std::string::npos);
  CHECK(r.out.find("\n  distilbert.transformer.layer.{0..1}.attention.q_lin.lora_A.weight  2 x "
                   "[8, 32]\n") != std::string::npos);
  CHECK(r.out.find("\n  distilbert.transformer.layer.{0..1}.attention.v_lin.lora_B.weight  2 x "
                   "[32, 8]\n") != std::string::npos);
  CHECK(r.out.find("\n  classifier.weight  [2, 32]\n") != std::string::npos);
  CHECK(r.out.find(": False") == std::string::npos);
  CHECK(r.out.find("trainable params: ") != std::string::npos);

  // train_config.json records --out absolute.
  const auto config = nlohmann::json::parse(slurp(dir / "short" / "train_config.json"));
  CHECK(config["out"] == (dir / "short").string());

  // curves.svg shows validation loss, the restored best evaluation and the test accuracy.
  const std::string svg = slurp(dir / "short" / "curves.svg");
  CHECK(svg.find(">validation loss</text>") != std::string::npos);
  CHECK(count(svg, "<circle") == 4);  // two evaluations, in the loss and accuracy panels
  CHECK(svg.find(">restored best, epoch ") != std::string::npos);
  CHECK(svg.find(">test accuracy ") != std::string::npos);
  CHECK(svg.find(">lora r 8 alpha 16 on query,value, head trained, lr 0.005") != std::string::npos);

  const Result all = run("train", common + "--max-steps 2 --list-params --out " +
                                      (scratch() / "listing-all").string());
  REQUIRE(all.code == 0);
  CHECK(count(all.out, ": True\n") == 12);
  CHECK(count(all.out, ": False\n") == 36);
  CHECK(all.out.find("distilbert.embeddings.word_embeddings.weight: False\n") != std::string::npos);
  CHECK(all.out.find("trainable: 12 of") == std::string::npos);
}
