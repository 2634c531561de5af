// Reverse-mode automatic differentiation.
//
// Every differentiable op that runs while some input requires a gradient records one Node:
// the edges to where its inputs came from, and a closure that turns dL/d(output) into
// dL/d(input) for the inputs that need it. Ops whose inputs need no gradient record nothing
// (teenygrad's `needs_input_grad`): frozen weights and constant inputs cost no graph at all.
//
// backward() sorts the nodes topologically, then walks them from the loss down, each node
// accumulating (+=) into the gradient buffers of its inputs. Each node is released as soon as
// it has run, so saved activations are freed during the backward pass, not after it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <type_traits>
#include <vector>

#include "core/profiler.h"
#include "core/tensor.h"

namespace ag {

// Where the gradient for one input of a node goes.
struct Edge {
  std::shared_ptr<Node> node;        // the input was produced by this node, or
  std::shared_ptr<TensorImpl> leaf;  // the input is a leaf that requires a gradient, or neither
  bool needed() const { return node != nullptr || leaf != nullptr; }
};

// A gradient buffer handed to a backward kernel. When `accumulate` is false the buffer is
// fresh (uninitialised) and the kernel must write every element; when true it must add (+=).
// This saves one memset and one read of every gradient the first time it is written.
struct GradBuffer {
  float* data = nullptr;
  bool accumulate = false;
  float beta() const { return accumulate ? 1.0f : 0.0f; }  // for cblas_sgemm's beta
};

struct Node {
  const char* op = "";
  OpFamily family = OpFamily::kElementwise;  // the profile's family of the op (and its backward)
  std::vector<Edge> inputs;
  Shape output_shape;
  Tensor grad;  // dL/d(output), accumulated from the consumers of the output
  // Computes the input gradients from `grad`; asks `grad_for(i)` for input i's buffer.
  std::function<void(Node&)> backward_fn;
  bool released = false;

  bool needs_grad(size_t input) const { return input < inputs.size() && inputs[input].needed(); }
  GradBuffer grad_for(size_t input);
  // The same by name: each op declares an enum class of its inputs in record() order
  // (e.g. LoraSlot::kB), so that a backward never reaches an input by a bare position.
  template <typename Slot>
  requires std::is_enum_v<Slot>
  bool needs_grad(Slot input) const { return needs_grad(static_cast<size_t>(input)); }
  template <typename Slot>
  requires std::is_enum_v<Slot> GradBuffer grad_for(Slot input) {
    return grad_for(static_cast<size_t>(input));
  }
};

// Records a node for an op when grad mode is on and one of `inputs` requires a gradient;
// then marks `output` as requiring a gradient and returns the node (else returns nullptr).
// Undefined tensors (an absent bias) are allowed in `inputs` and get an empty edge.
std::shared_ptr<Node> record(OpKind op, std::initializer_list<Tensor> inputs, const Tensor& output);
// The same for an elementwise op known by its name alone.
inline std::shared_ptr<Node> record(const char* op, std::initializer_list<Tensor> inputs,
                                    const Tensor& output) {
  return record(OpKind{op}, inputs, output);
}

// Runs backward from `root` with dL/droot = `root_grad`.
void run_backward(const Tensor& root, const Tensor& root_grad);

// --- grad mode ---------------------------------------------------------------------------
bool grad_enabled();
// Inside a NoGradGuard's scope no op records a node (torch.no_grad()).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// --- the graph, as backward() will walk it ---------------------------------------------------
// The number of nodes recorded for `root` and everything it depends on (0 when nothing that
// produced it required a gradient): what a backward() from `root` runs.
int64_t graph_nodes(const Tensor& root);

}  // namespace ag
