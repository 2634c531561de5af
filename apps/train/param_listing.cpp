#include "apps/train/param_listing.h"

#include <cctype>
#include <map>

namespace ag::apps {

std::pair<std::string, std::string> fold_layer_number(const std::string& name) {
  size_t start = 0;
  while (start < name.size()) {
    const size_t end = std::min(name.find('.', start), name.size());
    bool digits = end > start;
    for (size_t i = start; i < end && digits; ++i) digits = std::isdigit((unsigned char)name[i]);
    if (digits)
      return {name.substr(0, start) + "{}" + name.substr(end), name.substr(start, end - start)};
    start = end + 1;
  }
  return {name, ""};
}

namespace {

std::string shape_text(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace

void print_trainable_summary(const nn::Module& model, std::ostream& out) {
  struct Group {
    std::vector<std::string> layers;  // layer numbers in order of appearance
    std::string shape;                // of the first tensor (the layers share it)
  };
  std::vector<std::string> order;  // folded names, first seen first
  std::map<std::string, Group> groups;
  size_t total = 0, trainable = 0;
  for (const auto& [name, p] : model.named_parameters()) {
    ++total;
    if (!p.requires_grad()) continue;
    ++trainable;
    const auto [folded, layer] = fold_layer_number(name);
    auto [it, added] = groups.try_emplace(folded);
    if (added) {
      order.push_back(folded);
      it->second.shape = shape_text(p.shape());
    }
    it->second.layers.push_back(layer);
  }
  out << "trainable: " << trainable << " of " << total
      << " tensors (--list-params lists every parameter)\n";
  for (const std::string& folded : order) {
    const Group& g = groups.at(folded);
    std::string name = folded, count;
    if (g.layers.size() > 1) {  // "{0..5}" (or "{0,2,4}" when they are not consecutive)
      bool consecutive = true;
      for (size_t i = 1; i < g.layers.size(); ++i)
        consecutive = consecutive && std::stoll(g.layers[i]) == std::stoll(g.layers[i - 1]) + 1;
      std::string set;
      if (consecutive) {
        set = g.layers.front() + ".." + g.layers.back();
      } else {
        for (const auto& l : g.layers) set += (set.empty() ? "" : ",") + l;
      }
      name.replace(name.find("{}"), 2, "{" + set + "}");
      count = std::to_string(g.layers.size()) + " x ";
    } else if (!g.layers.front().empty()) {
      name.replace(name.find("{}"), 2, g.layers.front());
    }
    out << "  " << name << "  " << count << g.shape << "\n";
  }
}

void print_every_parameter(const nn::Module& model, std::ostream& out) {
  for (const auto& [name, p] : model.named_parameters())
    out << name << ": " << (p.requires_grad() ? "True" : "False") << "\n";
}

}  // namespace ag::apps
