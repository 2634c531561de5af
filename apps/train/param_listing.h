// What train says about its parameters before training: by default a short listing of the
// trainable ones, with the layers folded together; --list-params prints every parameter as
// the tutorial does (`name: True/False`, also what count_params prints).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "nn/module.h"

namespace ag::apps {

// The tensors that train, one line per name with the layer number folded:
//   trainable: 26 of 105 tensors (--list-params lists every parameter)
//     bert.encoder.layer.{0..5}.attention.self.query.lora_A.weight  6 x [8, 384]
//     classifier.weight  [2, 384]
void print_trainable_summary(const nn::Module& model, std::ostream& out);

// Every parameter, `name: True` when it trains, `name: False` when frozen.
void print_every_parameter(const nn::Module& model, std::ostream& out);

// "bert.encoder.layer.3.output.dense.weight" -> {"bert.encoder.layer.{}.output.dense.weight",
// "3"}: the first all-digit part of a dotted name taken out (the layer number); the number is
// empty when there is none.
std::pair<std::string, std::string> fold_layer_number(const std::string& name);

}  // namespace ag::apps
