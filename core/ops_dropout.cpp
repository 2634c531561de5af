// Inverted dropout with a counter-based mask: element i is kept iff
// random_uniform(seed, i) >= p, and kept values are scaled by 1 / (1 − p). The mask is never
// stored: backward recomputes it from its random seed (one hash per element, cheaper than the
// memory traffic of a saved mask).
#include "core/autograd.h"
#include "core/errors.h"
#include "core/ops.h"
#include "core/ops_util.h"
#include "core/profiler.h"

namespace ag {

constexpr OpKind kDropoutOp{"dropout", OpFamily::kElementwise};
Tensor dropout_with_seed(const Tensor& x, float p, uint64_t seed, uint64_t first) {
  ProfileScope profile(kDropoutOp);
  if (!(p >= 0.0f && p < 1.0f))
    throw Error("dropout: probability must be in [0, 1), got " + std::to_string(p));
  if (p == 0.0f) return x;
  Tensor y = Tensor::empty(x.shape());
  const int64_t n = x.numel();
  apply_dropout_mask(x.data(), y.data(), false, n, p, seed, first);
  if (auto node = record(kDropoutOp, {x}, y)) {
    node->backward_fn = [n, p, seed, first](Node& nd) {
      GradBuffer dx = nd.grad_for(UnarySlot::kX);
      apply_dropout_mask(nd.grad.data(), dx.data, dx.accumulate, n, p, seed, first);
    };
  }
  return y;
}

Tensor dropout(const Tensor& x, float p, bool training, uint64_t first_index) {
  if (!training || p == 0.0f) return x;
  return dropout_with_seed(x, p, next_seed(), first_index);
}

}  // namespace ag
