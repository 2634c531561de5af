// The README's "The library in a few lines" is cut from this file (between the README markers)
// and run here, so the README's code always compiles and does what it says.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <utility>
#include <vector>

#include "core/io/read_file.h"
#include "core/rng.h"
#include "fixture.h"

// README:begin
#include "core/ops.h"
#include "models/pretrained.h"
#include "nn/adapter_io.h"
#include "nn/optim.h"

// One batch: token ids + attention mask (and token types for BERT), and the labels.
using Batches = std::vector<std::pair<ag::models::EncoderInput, ag::Indices>>;

// Fine-tunes a pretrained BERT-family folder with LoRA and saves the adapter in PEFT's format.
std::vector<float> fine_tune(const std::string& model_dir, int64_t num_labels,
                             const Batches& batches, const std::string& out) {
  auto model = ag::models::from_pretrained(model_dir, {.num_labels = num_labels});
  ag::nn::LoraConfig cfg;                // r 8, alpha 16, dropout 0.05, alpha/r scaling
  cfg.targets = {"query", "value"};      // BERT names; DistilBERT's are q_lin, v_lin
  cfg.modules_to_save = {"classifier"};  // train the head in full, as PEFT's SEQ_CLS
  ag::nn::apply_lora(*model, cfg);       // freeze everything, wrap the targets
  std::cout << ag::nn::trainable_parameters_line(*model, cfg.modules_to_save) << "\n";

  ag::nn::AdamW opt(model->trainable_parameters(), {.lr = 1e-2f});
  std::vector<float> losses;
  for (const auto& [input, labels] : batches) {
    ag::Tensor loss = ag::cross_entropy(model->forward(input), labels);
    opt.zero_grad();
    loss.backward();
    opt.step();
    losses.push_back(loss.item());
  }
  ag::nn::save_adapter(*model, cfg, out, model_dir);  // adapter_config.json + safetensors
  return losses;
}
// README:end

namespace {

// The README's code block: the lines between the markers of this file.
std::string example_block() {
  const std::string source = ag::read_file(__FILE__, ag::kSettingsFile);
  const size_t begin = source.find('\n', source.find(std::string("// README:") + "begin")) + 1;
  const size_t end = source.find(std::string("// README:") + "end");
  return source.substr(begin, end - begin);
}

// The same 8 sequences of 6 tokens every epoch; the label is whether token 1 is above 50.
Batches toy_batches(int epochs) {
  ag::manual_seed(7);
  Batches batches;
  std::vector<int32_t> ids(8 * 6), mask(8 * 6, 1), labels(8);
  for (int i = 0; i < 8; ++i) {
    for (int t = 0; t < 6; ++t) ids[i * 6 + t] = t == 0 ? 2 : 3 + (i * 37 + t * 11) % 90;
    labels[i] = ids[i * 6 + 1] > 50;
  }
  for (int e = 0; e < epochs; ++e)
    batches.push_back({{{{8, 6}, ids}, {{8, 6}, mask}, {}}, {{8}, labels}});
  return batches;
}

}  // namespace

TEST_CASE("README: the library in a few lines is this file's code, and it trains") {
  const std::string readme =
      ag::read_file(std::string(ADAPTGRAD_SOURCE_DIR) + "/README.md", ag::kSettingsFile);
  const std::string block = "```cpp\n" + example_block() + "```\n";
  CHECK_MESSAGE(readme.find(block) != std::string::npos,
                "README.md's few-lines example differs from tests/test_readme_example.cpp");
  // examples/fine_tune.cpp, the same code built against an installed adaptgrad
  // (tools/build_example.sh), carries the same block between the same markers.
  const std::string example = ag::read_file(
      std::string(ADAPTGRAD_SOURCE_DIR) + "/examples/fine_tune.cpp", ag::kSettingsFile);
  CHECK_MESSAGE(
      example.find("// README:" + std::string("begin\n") + example_block()) != std::string::npos,
      "examples/fine_tune.cpp's README block differs from tests/test_readme_example.cpp");

  fixture::TempDir dir;
  const std::string out = (dir.path / "adapter").string();
  const std::vector<float> losses = fine_tune(fixture::path("tiny-bert"), 3, toy_batches(30), out);
  REQUIRE(losses.size() == 30);
  for (float l : losses) REQUIRE(std::isfinite(l));
  // 30 steps on one batch with a trained head: the loss falls well below its start.
  CHECK(losses.back() < 0.5f * losses.front());
  CHECK(std::filesystem::exists(std::filesystem::path(out) / "adapter_model.safetensors"));
  CHECK(std::filesystem::exists(std::filesystem::path(out) / "adapter_config.json"));
}
