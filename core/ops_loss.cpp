// Cross-entropy from logits, mean over the non-ignored rows (torch's F.cross_entropy).
#include <cmath>
#include <limits>

#include "core/autograd.h"
#include "core/errors.h"
#include "core/ops.h"
#include "core/profiler.h"

namespace ag {

constexpr OpKind kCrossEntropyOp{"cross_entropy", OpFamily::kElementwise};

// The input of a cross_entropy node (the labels are not differentiated).
enum class CrossEntropySlot : size_t { kLogits };

// loss = −(1/N') Σ_i log softmax(logits_i)[label_i] over the N' rows whose label is not
// ignore_index. Backward: dlogits_i = (softmax(logits_i) − onehot(label_i)) · dloss / N'.
Tensor cross_entropy(const Tensor& logits, const Indices& labels, int32_t ignore_index) {
  ProfileScope profile(kCrossEntropyOp);
  if (logits.dim() != 2 || labels.numel() != logits.size(0))
    throw ShapeError("cross_entropy: logits " + to_string(logits.shape()) + " need (N, C) with " +
                     "N = " + std::to_string(labels.numel()) + " labels");
  const int64_t N = logits.size(0), C = logits.size(1);
  Tensor probs = Tensor::empty({N, C});
  double total = 0.0;
  int64_t counted = 0;
  for (int64_t i = 0; i < N; ++i) {
    const float* row = logits.data() + i * C;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < C; ++j) mx = std::max(mx, row[j]);
    double z = 0.0;
    for (int64_t j = 0; j < C; ++j) z += std::exp(double(row[j]) - mx);
    for (int64_t j = 0; j < C; ++j)
      probs.data()[i * C + j] = float(std::exp(double(row[j]) - mx) / z);
    const int32_t y = labels.values[i];
    if (y == ignore_index) continue;
    if (y < 0 || y >= C)
      throw Error("cross_entropy: label " + std::to_string(y) + " of row " + std::to_string(i) +
                  " is outside the " + std::to_string(C) + " classes");
    total += -(double(row[y]) - mx - std::log(z));
    ++counted;
  }
  // No counted row: the mean is 0/0; torch returns nan, and so do we.
  Tensor loss = Tensor::scalar(counted ? float(total / counted) : std::nanf(""));
  if (auto node = record(kCrossEntropyOp, {logits}, loss)) {
    node->backward_fn = [probs, y = labels.values, ignore_index, N, C, counted](Node& n) {
      GradBuffer d = n.grad_for(CrossEntropySlot::kLogits);
      const float g = counted ? n.grad.item() / float(counted) : 0.0f;
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < C; ++j) {
          float v = 0.0f;
          if (y[i] != ignore_index) v = g * (probs.data()[i * C + j] - (j == y[i] ? 1.0f : 0.0f));
          d.data[i * C + j] = (d.accumulate ? d.data[i * C + j] : 0.0f) + v;
        }
    };
  }
  return loss;
}

}  // namespace ag
