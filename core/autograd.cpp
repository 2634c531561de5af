#include "core/autograd.h"

#include <algorithm>
#include <unordered_set>

#include "core/errors.h"
#include "core/profiler.h"

namespace ag {
namespace {
thread_local bool g_grad_enabled = true;
}  // namespace

bool grad_enabled() {
  return g_grad_enabled;
}
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) {
  g_grad_enabled = false;
}
NoGradGuard::~NoGradGuard() {
  g_grad_enabled = previous_;
}

GradBuffer Node::grad_for(size_t input) {
  Edge& edge = inputs.at(input);
  // The gradient of a leaf lives on the leaf; that of an intermediate lives on its producer.
  auto buffer = [](auto& slot, const Shape& shape) {
    bool existed = slot != nullptr;
    if (!existed) slot = Tensor::empty(shape).impl();
    return GradBuffer{slot->storage->data + slot->offset, existed};
  };
  if (edge.leaf) return buffer(edge.leaf->grad, edge.leaf->shape);
  if (edge.node) {
    std::shared_ptr<TensorImpl> slot = edge.node->grad.impl();
    GradBuffer result = buffer(slot, edge.node->output_shape);
    edge.node->grad = Tensor(slot);
    return result;
  }
  throw Error(std::string("internal: op '") + op + "' asked for a gradient nobody needs");
}

std::shared_ptr<Node> record(OpKind op, std::initializer_list<Tensor> inputs,
                             const Tensor& output) {
  if (!g_grad_enabled) return nullptr;
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return nullptr;

  auto node = std::make_shared<Node>();
  node->op = op.name;
  node->family = op.family;
  node->output_shape = output.shape();
  node->inputs.reserve(inputs.size());
  for (const Tensor& t : inputs) {
    Edge edge;
    if (t.defined() && t.requires_grad()) {
      if (t.grad_fn())
        edge.node = t.grad_fn();
      else
        edge.leaf = t.impl();
    }
    node->inputs.push_back(std::move(edge));
  }
  output.impl()->requires_grad = true;
  output.impl()->grad_fn = node;
  return node;
}

// Depth-first post-order over producer edges, iterative so that deep graphs cannot overflow
// the call stack. The result lists every node after all the nodes that consume its output.
static std::vector<Node*> topological_order(Node* root) {
  std::vector<Node*> order;
  std::unordered_set<Node*> visited{root};
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next_input] = stack.back();
    if (next_input < node->inputs.size()) {
      Node* child = node->inputs[next_input++].node.get();
      if (child && visited.insert(child).second) stack.push_back({child, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  std::reverse(order.begin(), order.end());  // root first
  return order;
}

int64_t graph_nodes(const Tensor& root) {
  return root.grad_fn() ? int64_t(topological_order(root.grad_fn().get()).size()) : 0;
}

void run_backward(const Tensor& root, const Tensor& root_grad) {
  if (!root.requires_grad())
    throw Error("backward(): the tensor does not require a gradient (nothing to differentiate)");
  if (root_grad.shape() != root.shape())
    throw ShapeError("backward(): gradient shape " + to_string(root_grad.shape()) +
                     " differs from output shape " + to_string(root.shape()));
  if (root.is_leaf()) {  // d(root)/d(root): accumulate straight into the leaf
    Node self;
    self.inputs.push_back(Edge{nullptr, root.impl()});
    GradBuffer g = self.grad_for(0);
    for (int64_t i = 0; i < root.numel(); ++i)
      g.data[i] = (g.accumulate ? g.data[i] : 0.0f) + root_grad.data()[i];
    return;
  }
  std::shared_ptr<Node> keep_root = root.grad_fn();
  if (keep_root->released)
    throw Error("backward(): the graph was already freed by an earlier backward()");
  keep_root->grad = root_grad.clone();

  std::vector<Node*> order = topological_order(keep_root.get());
  // `order` holds raw pointers; the nodes are owned by the edges of their consumers. Releasing
  // a node drops its edges, so move those owners here until the walk ends.
  std::vector<std::shared_ptr<Node>> alive{keep_root};
  alive.reserve(order.size());
  for (Node* node : order) {
    if (node->released) throw Error("backward(): the graph was already freed");
    if (node->grad.defined() && node->backward_fn) {
      ProfileScope profile(node->family);
      node->backward_fn(*node);
    }
    node->grad = Tensor();
    node->backward_fn = nullptr;  // frees the activations the closure saved
    node->released = true;
    for (Edge& e : node->inputs)
      if (e.node) alive.push_back(std::move(e.node));
    node->inputs.clear();
  }
}

}  // namespace ag
