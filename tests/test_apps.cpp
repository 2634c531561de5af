// The count_params and merge apps, run as a user runs them.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "core/ops.h"
#include "fixture.h"
#include "models/pretrained.h"

namespace fs = std::filesystem;

struct Run {
  int exit_code;
  std::string output;  // stdout and stderr
};

static Run run(const std::string& args) {
  const std::string command = std::string(ADAPTGRAD_BIN) + "/" + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_CASE("count_params prints PEFT's numbers for distilbert-base-uncased") {
  // Expected values: PEFT's print_trainable_parameters on the same configurations
  // (67,102,466 = 66,955,010 + 147,456).
  // --train-head=false: PEFT's plain LoraConfig, adapters only (train's default also trains the
  // head, 739,586 = 147,456 + 590,592 + 1,538).
  Run lora =
      run("count_params --model distilbert-base-uncased --method lora --train-head=false --quiet");
  CHECK(lora.exit_code == 0);
  CHECK(lora.output ==
        "trainable params: 147,456 || all params: 67,102,466 || trainable%: 0.2197\n");
  Run dora = run("count_params --method dora --train-head=false --quiet");
  CHECK(dora.output ==
        "trainable params: 156,672 || all params: 67,111,682 || trainable%: 0.2334\n");
  Run mlp = run("count_params --targets query,value,mlp --train-head=false --quiet");
  // With the head (train's default): PEFT 0.21.2's print_trainable_parameters() on
  // get_peft_model(DistilBertForSequenceClassification(DistilBertConfig(num_labels=2)),
  // LoraConfig(task_type="SEQ_CLS", r=8, lora_alpha=16, target_modules=["q_lin", "v_lin"],
  // modules_to_save=["pre_classifier", "classifier"])) counts the head twice (original_module
  // and its trained copy): 67,694,596 = 67,102,466 + 592,130.
  Run with_head = run("count_params --quiet");
  CHECK(with_head.output ==
        "trainable params: 739,586 || all params: 67,694,596 || trainable%: 1.0925\n"
        "(distinct parameters: 67,102,466, trainable%: 1.1022; PEFT counts the 592,130 "
        "parameters of modules_to_save twice: the frozen original and the trained copy)\n");
  Run dora_head = run("count_params --method dora --quiet");  // PEFT: the same with use_dora
  CHECK(dora_head.output.rfind(
            "trainable params: 748,802 || all params: 67,703,812 || trainable%: 1.1060\n", 0) == 0);
  CHECK(mlp.output.find("trainable params: 516,096 ||") == 0);
  Run head = run("count_params --method head --quiet");
  CHECK(head.output.find("trainable params: 592,130 || all params: 66,955,010") ==
        0);  // 590,592 + 1,538
}

TEST_CASE(
    "count_params lists every parameter with whether it trains, as the LoRA/DoRA tutorial prints "
    "it") {
  Run r = run("count_params");
  CHECK(r.output.find("distilbert.embeddings.word_embeddings.weight: False\n") !=
        std::string::npos);
  CHECK(r.output.find("distilbert.transformer.layer.5.attention.v_lin.lora_B.weight: True\n") !=
        std::string::npos);
  CHECK(
      r.output.find("distilbert.transformer.layer.0.attention.q_lin.base_layer.weight: False\n") !=
      std::string::npos);
}

// The "trainable params: ..." line of an app's output.
static std::string trainable_line(const std::string& output) {
  const size_t at = output.find("trainable params: ");
  if (at == std::string::npos) return "";
  return output.substr(at, output.find('\n', at) - at);
}

TEST_CASE("count_params prints the trainable-parameter line train prints for the same flags") {
  // A tiny DistilBERT: --model is its config.json file for both apps (random init, shapes
  // only), and the folder holding it for count_params too; 2 labels (the demo task's and
  // count_params' default).
  const fs::path dir =
      fs::temp_directory_path() / ("adaptgrad_count_vs_train_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "model");
  std::ofstream(dir / "model" / "config.json")
      << R"({"model_type": "distilbert", "vocab_size": 128, "dim": 32, "n_layers": 2,
      "n_heads": 4, "hidden_dim": 64, "max_position_embeddings": 64, "pad_token_id": 0})";
  const std::string train = "train --model " + (dir / "model" / "config.json").string() +
                            " --demo --demo-size 40 --max-steps 1 --threads 1 --out " +
                            (dir / "run").string() + " --overwrite --quiet-params ";
  const std::string count = "count_params --quiet --model " + (dir / "model").string() + " ";
  const std::string count_file =
      "count_params --quiet --model " + (dir / "model" / "config.json").string() + " ";
  for (const char* flags :
       {"", "--train-head=false", "--method dora --dora-magnitude input --targets query,value,mlp",
        "--method dora --targets query,head --r 2 --train-head=false",
        "--method lora --targets query,value,head --r 2", "--method head", "--method full"}) {
    INFO(std::string(flags));
    const Run trained = run(train + flags);
    INFO(trained.output);
    REQUIRE(trained.exit_code == 0);
    const Run counted = run(count + flags);
    REQUIRE(counted.exit_code == 0);
    const Run counted_file = run(count_file + flags);
    REQUIRE(counted_file.exit_code == 0);
    CHECK(trainable_line(trained.output) != "");
    CHECK(trainable_line(counted.output) == trainable_line(trained.output));
    CHECK(trainable_line(counted_file.output) == trainable_line(trained.output));
  }
  fs::remove_all(dir);
}

TEST_CASE("count_params: bad flags and settings exit non-zero with one line") {
  for (const char* args :
       {"count_params --bogus", "count_params --r 0", "count_params --targets nothing",
        "count_params --method sideways", "count_params --model /nonexistent"}) {
    Run r = run(args);
    INFO(args << " -> " << r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.output.rfind("error: ", 0) == 0);
    CHECK(r.output.find('\n') == r.output.size() - 1);  // exactly one line
  }
}

TEST_CASE("merge writes a model folder whose logits equal PEFT's for the adapted model") {
  const fs::path out = fs::temp_directory_path() / "adaptgrad_test_merge";
  fs::remove_all(out);
  Run r = run("merge --model " + fixture::path("tiny-distilbert") + " --adapter " +
              fixture::path("peft/saved-adapter-distilbert") + " --out " + out.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto merged = ag::models::from_pretrained(out.string());
  merged->eval();
  // Plain architecture again: no adapter names remain.
  for (auto& [name, p] : merged->named_parameters()) CHECK(name.find("lora") == std::string::npos);
  fixture::Reference ref("peft/saved-adapter-distilbert/reference.safetensors");
  ag::models::EncoderInput in{ref.indices("input_ids"), ref.indices("attention_mask"), {}};
  fixture::check_close("merged logits", merged->forward(in), ref.tensor("logits"), 0, 1e-5);
  CHECK(run("merge --model " + fixture::path("tiny-bert") + " --adapter " +
            fixture::path("peft/saved-adapter-distilbert") + " --out " + out.string() +
            " --overwrite")
            .exit_code != 0);
  fs::remove_all(out);
}

TEST_CASE("merge refuses an adapter holding a NaN and writes nothing") {
  const fs::path dir = fs::temp_directory_path() / "adaptgrad_test_merge_nan";
  fs::remove_all(dir);
  fs::create_directories(dir / "adapter");
  const std::string from = fixture::path("peft/saved-adapter-distilbert");
  fs::copy(from + "/adapter_config.json", dir / "adapter" / "adapter_config.json");
  fixture::copy_with_value(
      from + "/adapter_model.safetensors", (dir / "adapter" / "adapter_model.safetensors").string(),
      "base_model.model.distilbert.transformer.layer.0.attention.q_lin.lora_A.weight", 0, NAN);
  Run r = run("merge --model " + fixture::path("tiny-distilbert") + " --adapter " +
              (dir / "adapter").string() + " --out " + (dir / "out").string());
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("error: ") != std::string::npos);
  CHECK(r.output.find("layer.0.attention.q_lin.lora_A.weight\": holds NaN at element 0") !=
        std::string::npos);
  CHECK(!fs::exists(dir / "out"));
  fs::remove_all(dir);
}

TEST_CASE("merge refuses an adapter whose finite weights overflow when merged") {
  const fs::path dir = fs::temp_directory_path() / "adaptgrad_test_merge_overflow";
  fs::remove_all(dir);
  fs::create_directories(dir / "adapter");
  const std::string from = fixture::path("peft/saved-adapter-distilbert");
  fs::copy(from + "/adapter_config.json", dir / "adapter" / "adapter_config.json");
  // Every factor of layer 0's q_lin 1e20: finite, but B·A is 1e40 · r, beyond float32.
  const std::string layer = "base_model.model.distilbert.transformer.layer.0.attention.q_lin.";
  const std::string half = (dir / "half.safetensors").string();
  auto fill = [](const std::string& in, const std::string& out, const std::string& name) {
    auto file = ag::safetensors::File::open(in);
    std::vector<ag::safetensors::F32Tensor> tensors;
    for (auto& info : file.tensors()) {
      std::vector<float> values = file.read_f32(info.name);
      if (info.name == name) std::fill(values.begin(), values.end(), 1e20f);
      tensors.push_back({info.name, info.shape, values});
    }
    ag::safetensors::save_f32(out, tensors);
  };
  fill(from + "/adapter_model.safetensors", half, layer + "lora_A.weight");
  fill(half, (dir / "adapter" / "adapter_model.safetensors").string(), layer + "lora_B.weight");
  Run r = run("merge --model " + fixture::path("tiny-distilbert") + " --adapter " +
              (dir / "adapter").string() + " --out " + (dir / "out").string());
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("error: " + (dir / "adapter" / "adapter_model.safetensors").string() +
                      ": tensors \"" + layer +
                      "lora_*\": are finite, but the weight they make "
                      "(m/n * (W + s*B*A)) holds NaN at element 0") != std::string::npos);
  CHECK(!fs::exists(dir / "out"));
  fs::remove_all(dir);
}
