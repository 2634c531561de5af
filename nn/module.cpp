#include "nn/module.h"

#include <cstdio>
#include <set>

#include "core/errors.h"
#include "core/ops.h"
#include "core/rng.h"

namespace ag::nn {

Tensor Module::forward(const Tensor&) {
  throw Error("module '" + type_name_ + "' has no single-input forward");
}

Tensor Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  for (auto& [n, t] : parameters_)
    if (n == name) throw Error("parameter '" + name + "' is registered twice");
  value.set_requires_grad(requires_grad);
  parameters_.emplace_back(name, value);
  return value;
}

size_t Module::register_module(const std::string& name, std::shared_ptr<Module> child) {
  for (auto& [n, c] : children_)
    if (n == name) throw Error("module '" + name + "' is registered twice");
  children_.emplace_back(name, std::move(child));
  return children_.size() - 1;
}

void Module::replace_module(const std::string& name, std::shared_ptr<Module> child) {
  for (auto& [n, c] : children_) {
    if (n != name) continue;
    for (auto& [slot_name, set_slot] : slots_)
      if (slot_name == name && !set_slot(child))
        throw Error("replace_module: '" + name + "' in " + type_name_ + " cannot be " +
                    (child ? "a " + child->type_name() : std::string("empty")));
    c = std::move(child);
    return;
  }
  throw Error("replace_module: no child module named '" + name + "' in " + type_name_);
}

std::shared_ptr<Module> Module::child(const std::string& name) const {
  for (auto& [n, c] : children_)
    if (n == name) return c;
  return nullptr;
}

Module* Module::find_module(const std::string& path) {
  if (path.empty()) return this;
  const size_t dot = path.find('.');
  std::shared_ptr<Module> next = child(path.substr(0, dot));
  if (!next) return nullptr;
  return dot == std::string::npos ? next.get() : next->find_module(path.substr(dot + 1));
}

Tensor Module::parameter(const std::string& name) const {
  for (auto& [n, t] : parameters_)
    if (n == name) return t;
  throw Error("module '" + type_name_ + "' has no parameter '" + name + "'");
}

void Module::collect_parameters(const std::string& prefix, std::vector<NamedTensor>& out) const {
  for (auto& [n, t] : parameters_) out.emplace_back(prefix + n, t);
  for (auto& [n, c] : children_) c->collect_parameters(prefix + n + ".", out);
}

std::vector<NamedTensor> Module::named_parameters() const {
  std::vector<NamedTensor> out;
  collect_parameters("", out);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (auto& [n, c] : children_)
    for (auto& [sub, m] : c->named_modules()) out.emplace_back(sub.empty() ? n : n + "." + sub, m);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

std::vector<Tensor> Module::trainable_parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters())
    if (t.requires_grad()) out.push_back(t);
  return out;
}

std::vector<NamedTensor> Module::named_trainable_parameters() const {
  std::vector<NamedTensor> out;
  for (auto& nt : named_parameters())
    if (nt.second.requires_grad()) out.push_back(nt);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::set_batch_first_row(int64_t first_row) {
  batch_first_row_ = first_row;
  for (auto& [n, c] : children_) c->set_batch_first_row(first_row);
}

Tensor dropout(const Tensor& x, float p, DropoutMode mode) {
  return ag::dropout(x, p, mode.training, batch_first_index(x, mode.first_row));
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (auto& [n, t] : named_parameters()) out.emplace(n, t);
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  std::set<std::string> used;
  std::vector<std::string> missing;
  for (auto& [name, param] : named_parameters()) {
    auto it = state.find(name);
    if (it == state.end()) {
      missing.push_back(name);
      continue;
    }
    if (it->second.shape() != param.shape())
      throw ShapeError("load_state_dict: '" + name + "' has shape " +
                       to_string(it->second.shape()) + ", the model expects " +
                       to_string(param.shape()));
    param.copy_(it->second);
    used.insert(name);
  }
  if (!strict) return;
  std::string problems;
  for (auto& n : missing) problems += " missing '" + n + "';";
  for (auto& [n, t] : state)
    if (!used.count(n)) problems += " unexpected '" + n + "';";
  if (!problems.empty()) throw Error("load_state_dict:" + problems);
}

void Module::zero_grad() {
  for (auto& [n, t] : named_parameters()) t.zero_grad();
}

void freeze(Module& m) {
  for (auto& [n, t] : m.named_parameters()) t.set_requires_grad(false);
}

void unfreeze(Module& m) {
  for (auto& [n, t] : m.named_parameters()) t.set_requires_grad(true);
}

ParameterCount count_parameters(const Module& m) {
  ParameterCount c;
  for (auto& [n, t] : m.named_parameters()) {
    c.total += t.numel();
    if (t.requires_grad()) c.trainable += t.numel();
  }
  return c;
}

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

namespace {

std::string percent(int64_t part, int64_t whole) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", whole ? 100.0 * double(part) / double(whole) : 0.0);
  return text;
}

}  // namespace

PeftParameterCount count_parameters_like_peft(Module& m,
                                              const std::vector<std::string>& modules_to_save) {
  const ParameterCount own = count_parameters(m);
  PeftParameterCount c;
  c.trainable = own.trainable;
  c.distinct = own.total;
  for (const std::string& name : modules_to_save) {
    const Module* saved = m.find_module(name);
    if (!saved) throw Error("modules_to_save: no module '" + name + "' in the model");
    c.saved_copies += count_parameters(*saved).total;
  }
  c.all = c.distinct + c.saved_copies;
  return c;
}

std::string trainable_parameters_line(Module& m, const std::vector<std::string>& modules_to_save) {
  const PeftParameterCount c = count_parameters_like_peft(m, modules_to_save);
  return "trainable params: " + with_commas(c.trainable) + " || all params: " + with_commas(c.all) +
         " || trainable%: " + percent(c.trainable, c.all);
}

std::string distinct_parameters_note(Module& m, const std::vector<std::string>& modules_to_save) {
  const PeftParameterCount c = count_parameters_like_peft(m, modules_to_save);
  if (c.saved_copies == 0) return "";
  return "(distinct parameters: " + with_commas(c.distinct) +
         ", trainable%: " + percent(c.trainable, c.distinct) + "; PEFT counts the " +
         with_commas(c.saved_copies) +
         " parameters of modules_to_save twice: the frozen original and the trained copy)";
}

}  // namespace ag::nn
