// Module: a node of the model tree, as torch.nn.Module.
//
// A module owns named parameters and named child modules. `named_parameters()` walks the tree
// and joins names with dots, so the names are exactly the Hugging Face checkpoint keys
// ("distilbert.transformer.layer.0.attention.q_lin.weight"). Training mode and trainability are
// separate things: `train()` / `eval()` only flip a flag that dropout reads; whether a parameter
// learns is its own `requires_grad`, changed only by freeze()/unfreeze() or by hand.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace ag::nn {

using NamedTensor = std::pair<std::string, Tensor>;

// How a module's forward applies dropout: off in eval mode; in training mode, from the counter
// the whole batch reaches at `first_row`, the global index of the input's row 0 (non-zero only
// on a share of a batch in data-parallel training, apps/train/batch_shard.h).
struct DropoutMode {
  bool training = false;
  int64_t first_row = 0;
};
// ag::dropout(x, p) in `mode`: x is batch-major (dimension 0: the batch's rows).
Tensor dropout(const Tensor& x, float p, DropoutMode mode);

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The forward of single-input modules (Linear, LayerNorm, adapters, ...). Container modules
  // have their own forward signatures and leave this one throwing.
  virtual Tensor forward(const Tensor& x);
  const std::string& type_name() const { return type_name_; }

  // --- the tree ---------------------------------------------------------------------------
  // Registers a parameter under `name` and returns it (the same shared tensor).
  Tensor register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  // Registers a child and returns its index, which forward code uses to reach it quickly.
  size_t register_module(const std::string& name, std::shared_ptr<Module> child);
  // Registers the module held in `slot`, a member of this module that its forward calls
  // directly (a typed pointer instead of a lookup by name at every call), and keeps the slot in
  // step with the tree: replace_module(name, m) stores m in the slot too. The slot's type is
  // what forward needs, so a linear an adapter may replace sits in an std::shared_ptr<Module>.
  template <class M>
  void register_module(const std::string& name, std::shared_ptr<M>* slot) {
    register_module(name, std::shared_ptr<Module>(*slot));
    slots_.emplace_back(name, [slot](const std::shared_ptr<Module>& m) {
      auto typed = std::dynamic_pointer_cast<M>(m);
      if (!typed) return false;  // `m` is not the type the slot holds
      *slot = std::move(typed);
      return true;
    });
  }
  // Swaps the child called `name` for another module (adapters wrap linears this way), and
  // the slot registered with it, if any.
  void replace_module(const std::string& name, std::shared_ptr<Module> child);
  Module& child(size_t index) const { return *children_[index].second; }
  std::shared_ptr<Module> child(const std::string& name) const;  // null if absent
  // The module at a dotted path below this one ("" is this module); null if absent.
  Module* find_module(const std::string& path);

  const std::vector<NamedTensor>& local_parameters() const { return parameters_; }
  Tensor parameter(const std::string& name) const;  // a local parameter; throws if absent
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
    return children_;
  }

  // Every parameter below this module, with dotted names, in registration order.
  std::vector<NamedTensor> named_parameters() const;
  // Every module below and including this one ("" for this one), depth first.
  std::vector<std::pair<std::string, Module*>> named_modules();
  std::vector<Tensor> parameters() const;
  std::vector<Tensor> trainable_parameters() const;  // those with requires_grad
  std::vector<NamedTensor> named_trainable_parameters() const;

  // --- mode ---------------------------------------------------------------------------------
  void train(bool on = true);  // recursive; never touches requires_grad
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Data-parallel training: row 0 of the next inputs is row `first_row` of the whole batch
  // (0: not sharded). Recursive; set by the trainer's sharding code before each forward.
  void set_batch_first_row(int64_t first_row);
  DropoutMode dropout_mode() const { return {training_, batch_first_row_}; }

  // --- state dict ---------------------------------------------------------------------------
  std::map<std::string, Tensor> state_dict() const;
  // Copies values by name; every tensor must have the parameter's exact shape. With `strict`,
  // missing and unexpected names are errors naming them.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);

  void zero_grad();  // drops the gradients of every parameter

 private:
  void collect_parameters(const std::string& prefix, std::vector<NamedTensor>& out) const;
  std::string type_name_;
  std::vector<NamedTensor> parameters_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  // Sets a registered slot to a replacement child; returns false if the type does not fit.
  using SlotSetter = std::function<bool(const std::shared_ptr<Module>&)>;
  std::vector<std::pair<std::string, SlotSetter>> slots_;
  bool training_ = true;
  int64_t batch_first_row_ = 0;
};

// --- freezing (PyTorch's `for p in model.parameters(): p.requires_grad = False`) -------------
void freeze(Module& m);
void unfreeze(Module& m);

struct ParameterCount {
  int64_t trainable = 0, total = 0;
};
ParameterCount count_parameters(const Module& m);

// Counted as PEFT's print_trainable_parameters() counts: PEFT wraps each module of
// modules_to_save (the head it trains in full) in a wrapper holding the frozen original and the
// trained copy, and counts both, so its "all params" exceeds the model's own parameters by the
// size of those modules. adaptgrad trains them in place: one copy.
struct PeftParameterCount {
  int64_t trainable = 0;
  int64_t all = 0;           // PEFT's "all params": modules_to_save counted twice
  int64_t distinct = 0;      // every parameter once: what the model holds
  int64_t saved_copies = 0;  // the parameters of modules_to_save (PEFT's second copy)
};
// Throws ag::Error for a name in `modules_to_save` that is not a module of `m`.
PeftParameterCount count_parameters_like_peft(Module& m,
                                              const std::vector<std::string>& modules_to_save);
// "trainable params: 739,586 || all params: 67,694,596 || trainable%: 1.0925", exactly as
// PEFT 0.21's print_trainable_parameters() prints it when the adapter's modules_to_save are
// `modules_to_save` (none: every parameter once, "147,456 || 67,102,466 || 0.2197").
std::string trainable_parameters_line(Module& m,
                                      const std::vector<std::string>& modules_to_save = {});
// When modules_to_save are counted twice: "(distinct parameters: 67,102,466, trainable%:
// 1.1022; PEFT counts the 592,130 parameters of modules_to_save twice: the frozen original
// and the trained copy)". Empty otherwise.
std::string distinct_parameters_note(Module& m, const std::vector<std::string>& modules_to_save);
// Thousands separators, as Python's f"{n:,}".
std::string with_commas(int64_t n);

}  // namespace ag::nn
