// Elementwise ops: binary with row-vector broadcasting, and unary activations.
#include <cmath>
#include <functional>

#include "core/autograd.h"
#include "core/errors.h"
#include "core/ops.h"
#include "core/ops_util.h"

namespace ag {
namespace {

// The inputs of a binary elementwise node (add, sub, mul, div): y = a ∘ b.
enum class BinarySlot : size_t { kA, kB };

// How two operands line up. The larger has n elements; the smaller repeats with period
// `period` (= n when shapes are equal, 1 for a single element, the trailing size otherwise).
struct Broadcast {
  Shape shape;         // output shape (the larger operand's)
  int64_t n = 0;       // output elements
  int64_t period = 0;  // elements of the smaller operand
  bool a_small = false, b_small = false;
};

// True when `small`, without leading 1s, equals the trailing dimensions of `big`.
bool is_suffix(const Shape& small, const Shape& big) {
  size_t first = 0;
  while (first < small.size() && small[first] == 1) ++first;
  const size_t len = small.size() - first;
  if (len > big.size()) return false;
  for (size_t i = 0; i < len; ++i)
    if (small[first + i] != big[big.size() - len + i]) return false;
  return true;
}

Broadcast broadcast(const Tensor& a, const Tensor& b, const char* op) {
  Broadcast bc;
  const int64_t na = a.numel(), nb = b.numel();
  if (a.shape() == b.shape()) {
    bc = {a.shape(), na, na, false, false};
  } else if (nb == 1 || (na >= nb && is_suffix(b.shape(), a.shape()))) {
    bc = {a.shape(), na, nb, false, true};
  } else if (na == 1 || is_suffix(a.shape(), b.shape())) {
    bc = {b.shape(), nb, na, true, false};
  } else {
    throw ShapeError(std::string(op) + ": shapes " + to_string(a.shape()) + " and " +
                     to_string(b.shape()) + " do not broadcast (need equal shapes, one " +
                     "element, or a shape equal to the other's trailing dimensions)");
  }
  return bc;
}

// out[r, j] = f(a[.], b[.]) over rows r of length `period`; a small operand is indexed by j.
template <class F>
void binary_forward(const Broadcast& bc, const float* a, const float* b, float* out, F f) {
  const int64_t p = bc.period, rows = bc.n / p;
#pragma omp parallel for if (bc.n > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const float* ar = bc.a_small ? a : a + r * p;
    const float* br = bc.b_small ? b : b + r * p;
    float* o = out + r * p;
    for (int64_t j = 0; j < p; ++j) o[j] = f(ar[j], br[j]);
  }
}

// Gradient for one operand: d[.] (+)= Σ g[r, j] · local(r, j), summed over rows when the
// operand was broadcast. `local(i)` is the partial derivative at output element i.
template <class Local>
void binary_backward(const Broadcast& bc, bool small, const float* g, GradBuffer d, Local local) {
  const int64_t p = bc.period, rows = bc.n / p;
  if (!small) {
#pragma omp parallel for if (bc.n > kParallelGrain)
    for (int64_t i = 0; i < bc.n; ++i)
      d.data[i] = (d.accumulate ? d.data[i] : 0.0f) + g[i] * local(i);
    return;
  }
  // Threads split the columns j, each summing its column over all rows: no races.
#pragma omp parallel for if (bc.n > kParallelGrain)
  for (int64_t j = 0; j < p; ++j) {
    float s = 0.0f;
    for (int64_t r = 0; r < rows; ++r) s += g[r * p + j] * local(r * p + j);
    d.data[j] = (d.accumulate ? d.data[j] : 0.0f) + s;
  }
}

enum class BinaryOp { kAdd, kSub, kMul, kDiv };

Tensor binary(const Tensor& a, const Tensor& b, BinaryOp op, const char* name) {
  Broadcast bc = broadcast(a, b, name);
  Tensor out = Tensor::empty(bc.shape);
  switch (op) {
    case BinaryOp::kAdd:
      binary_forward(bc, a.data(), b.data(), out.data(), std::plus<float>());
      break;
    case BinaryOp::kSub:
      binary_forward(bc, a.data(), b.data(), out.data(), std::minus<float>());
      break;
    case BinaryOp::kMul:
      binary_forward(bc, a.data(), b.data(), out.data(), std::multiplies<float>());
      break;
    case BinaryOp::kDiv:
      binary_forward(bc, a.data(), b.data(), out.data(), std::divides<float>());
      break;
  }
  auto node = record(name, {a, b}, out);
  if (!node) return out;
  // Only mul and div need the operands in backward (the other operand's values).
  const bool keep = op == BinaryOp::kMul || op == BinaryOp::kDiv;
  Tensor sa = keep ? a : Tensor(), sb = keep ? b : Tensor();
  node->backward_fn = [bc, op, sa, sb](Node& n) {
    const float* g = n.grad.data();
    const int64_t p = bc.period;
    // Value of operand x at output element i, honouring its broadcast.
    auto at = [p](const float* x, bool small, int64_t i) { return small ? x[i % p] : x[i]; };
    const float* pa = sa.defined() ? sa.data() : nullptr;
    const float* pb = sb.defined() ? sb.data() : nullptr;
    if (n.needs_grad(BinarySlot::kA)) {
      GradBuffer da = n.grad_for(BinarySlot::kA);
      switch (op) {
        case BinaryOp::kAdd:
        case BinaryOp::kSub:
          binary_backward(bc, bc.a_small, g, da, [](int64_t) { return 1.0f; });
          break;
        case BinaryOp::kMul:
          binary_backward(bc, bc.a_small, g, da, [&](int64_t i) { return at(pb, bc.b_small, i); });
          break;
        case BinaryOp::kDiv:
          binary_backward(bc, bc.a_small, g, da,
                          [&](int64_t i) { return 1.0f / at(pb, bc.b_small, i); });
          break;
      }
    }
    if (n.needs_grad(BinarySlot::kB)) {
      GradBuffer db = n.grad_for(BinarySlot::kB);
      switch (op) {
        case BinaryOp::kAdd:
          binary_backward(bc, bc.b_small, g, db, [](int64_t) { return 1.0f; });
          break;
        case BinaryOp::kSub:
          binary_backward(bc, bc.b_small, g, db, [](int64_t) { return -1.0f; });
          break;
        case BinaryOp::kMul:
          binary_backward(bc, bc.b_small, g, db, [&](int64_t i) { return at(pa, bc.a_small, i); });
          break;
        case BinaryOp::kDiv:
          binary_backward(bc, bc.b_small, g, db, [&](int64_t i) {
            const float bv = at(pb, bc.b_small, i);
            return -at(pa, bc.a_small, i) / (bv * bv);
          });
          break;
      }
    }
  };
  return out;
}

// A unary op y = f(x) whose derivative is computed from x or y: `save_input` picks which is
// kept for backward, and `derivative(x_or_y)` returns dy/dx there.
template <class F, class D>
Tensor unary(const Tensor& x, const char* name, bool save_input, F f, D derivative) {
  Tensor y = Tensor::empty(x.shape());
  const float* px = x.data();
  float* py = y.data();
  const int64_t n = x.numel();
#pragma omp parallel for simd if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) py[i] = f(px[i]);
  if (auto node = record(name, {x}, y)) {
    Tensor saved = save_input ? x : y.detach();
    node->backward_fn = [saved, derivative, n](Node& nd) {
      GradBuffer dx = nd.grad_for(UnarySlot::kX);
      const float* g = nd.grad.data();
      const float* s = saved.data();
#pragma omp parallel for simd if (n > kParallelGrain)
      for (int64_t i = 0; i < n; ++i)
        dx.data[i] = (dx.accumulate ? dx.data[i] : 0.0f) + g[i] * derivative(s[i]);
    };
  }
  return y;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  return binary(a, b, BinaryOp::kAdd, "add");
}
Tensor sub(const Tensor& a, const Tensor& b) {
  return binary(a, b, BinaryOp::kSub, "sub");
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return binary(a, b, BinaryOp::kMul, "mul");
}
Tensor div(const Tensor& a, const Tensor& b) {
  return binary(a, b, BinaryOp::kDiv, "div");
}

Tensor scale(const Tensor& a, float s) {
  return unary(
      a, "scale", true, [s](float v) { return s * v; }, [s](float) { return s; });
}

// relu' from the output: 1 where y > 0.
Tensor relu(const Tensor& x) {
  return unary(
      x, "relu", false, [](float v) { return v > 0.0f ? v : 0.0f; },
      [](float y) { return y > 0.0f ? 1.0f : 0.0f; });
}

// tanh' = 1 − y².
Tensor tanh(const Tensor& x) {
  return unary(
      x, "tanh", false, [](float v) { return std::tanh(v); }, [](float y) { return 1.0f - y * y; });
}

Tensor gelu(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape());
  gelu_forward(x.data(), y.data(), x.numel());
  if (auto node = record("gelu", {x}, y)) {
    node->backward_fn = [x](Node& n) {
      Tensor dh = Tensor::empty(x.shape());
      gelu_backward(x.data(), n.grad.data(), dh.data(), x.numel());
      accumulate(n.grad_for(UnarySlot::kX), dh.data(), x.numel());
    };
  }
  return y;
}

// sqrt' = 1 / (2 y).
Tensor sqrt(const Tensor& x) {
  return unary(
      x, "sqrt", false, [](float v) { return std::sqrt(v); }, [](float y) { return 0.5f / y; });
}

// (1/x)' = −1/x² = −y².
Tensor reciprocal(const Tensor& x) {
  return unary(
      x, "reciprocal", false, [](float v) { return 1.0f / v; }, [](float y) { return -y * y; });
}

}  // namespace ag
