// PEFT's trainable-parameter line, counted as PEFT counts it.
//
// PEFT's print_trainable_parameters() sums the parameters of the PeftModel's modules. A module
// in modules_to_save (the classification head) is wrapped in a ModulesToSaveWrapper that holds
// two copies: original_module (frozen) and modules_to_save["default"] (trained). Both are
// counted, so "all params" exceeds the model's own parameters by the size of those modules.
// This library trains the head in place (one copy), so it prints PEFT's line for comparison
// and the count of distinct parameters beside it.
#pragma once

#include <string>
#include <vector>

#include "nn/module.h"

namespace ag::apps {

struct PeftCount {
  int64_t trainable = 0;
  int64_t all = 0;           // PEFT's "all params": saved modules counted twice
  int64_t unique = 0;        // every parameter once: what the model holds
  int64_t saved_copies = 0;  // the parameters of modules_to_save (PEFT's second copy)
};

// `modules_to_save`: the module names PEFT would wrap (nn::LoraConfig::modules_to_save).
PeftCount count_like_peft(nn::Module& model, const std::vector<std::string>& modules_to_save);

// "trainable params: 739,586 || all params: 67,694,596 || trainable%: 1.0925", exactly as
// PEFT 0.21's print_trainable_parameters() prints it.
std::string peft_trainable_line(const PeftCount& count);

// When modules_to_save are counted twice: "(distinct parameters: 67,102,466, trainable%:
// 1.1022; PEFT counts the 592,130 parameters of modules_to_save twice: the frozen original
// and the trained copy)". Empty otherwise.
std::string distinct_count_note(const PeftCount& count);

}  // namespace ag::apps
