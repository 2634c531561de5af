#include "apps/common/peft_count.h"

#include <cstdio>

#include "core/errors.h"

namespace ag::apps {
namespace {

std::string percent(int64_t part, int64_t whole) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", whole ? 100.0 * double(part) / double(whole) : 0.0);
  return text;
}

}  // namespace

PeftCount count_like_peft(nn::Module& model, const std::vector<std::string>& modules_to_save) {
  const nn::ParameterCount own = nn::count_parameters(model);
  PeftCount c;
  c.trainable = own.trainable;
  c.unique = own.total;
  for (const std::string& name : modules_to_save) {
    nn::Module* saved = model.find_module(name);
    if (!saved) throw Error("modules_to_save: no module '" + name + "' in the model");
    c.saved_copies += nn::count_parameters(*saved).total;
  }
  c.all = c.unique + c.saved_copies;
  return c;
}

std::string peft_trainable_line(const PeftCount& c) {
  return "trainable params: " + nn::with_commas(c.trainable) +
         " || all params: " + nn::with_commas(c.all) +
         " || trainable%: " + percent(c.trainable, c.all);
}

std::string distinct_count_note(const PeftCount& c) {
  if (c.saved_copies == 0) return "";
  return "(distinct parameters: " + nn::with_commas(c.unique) +
         ", trainable%: " + percent(c.trainable, c.unique) + "; PEFT counts the " +
         nn::with_commas(c.saved_copies) +
         " parameters of modules_to_save twice: the frozen original and the trained copy)";
}

}  // namespace ag::apps
