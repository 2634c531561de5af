// The README's "The library in a few lines", as a program built against an installed adaptgrad
// (see CMakeLists.txt here). It fine-tunes the model folder given as the first argument with
// LoRA on a toy task and saves the adapter to the second:
//
//   fine_tune MODEL_DIR OUT_DIR [NUM_LABELS]
//
// NUM_LABELS (default 2) must match a head the folder holds (tests/fixtures/tiny-bert's has 3).
// The toy task: 8 sequences of 6 token ids, labelled by whether the second id is above 50;
// the same batch 30 times. The exit status says whether the loss fell below half its start.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <utility>
#include <vector>

#include "core/rng.h"

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

// The toy task's batches: ids in [3, 93) after a first token 2 (BERT's [CLS] in the tiny test
// vocabulary), every mask 1.
Batches toy_batches(int steps) {
  Batches batches;
  std::vector<int32_t> ids(8 * 6), mask(8 * 6, 1), labels(8);
  for (int i = 0; i < 8; ++i) {
    for (int t = 0; t < 6; ++t) ids[i * 6 + t] = t == 0 ? 2 : 3 + (i * 37 + t * 11) % 90;
    labels[i] = ids[i * 6 + 1] > 50;
  }
  for (int s = 0; s < steps; ++s)
    batches.push_back({{{{8, 6}, ids}, {{8, 6}, mask}, {}}, {{8}, labels}});
  return batches;
}

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: fine_tune MODEL_DIR OUT_DIR [NUM_LABELS]\n";
    return 2;
  }
  const int64_t num_labels = argc == 4 ? std::atoll(argv[3]) : 2;
  try {
    ag::manual_seed(7);  // the adapters' initialisation and dropout masks
    const std::vector<float> losses = fine_tune(argv[1], num_labels, toy_batches(30), argv[2]);
    std::printf("loss: first step %.4f, last step %.4f\n", losses.front(), losses.back());
    std::cout << "adapter saved in " << argv[2] << "\n";
    return losses.back() < 0.5f * losses.front() ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
