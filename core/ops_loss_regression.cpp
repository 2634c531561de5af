// Mean squared error of a regression head, torch's F.mse_loss(predictions.squeeze(), targets):
// what transformers' *ForSequenceClassification computes when problem_type is "regression"
// (num_labels 1, float labels: GLUE's STS-B similarity scores 0..5).
#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/errors.h"
#include "core/ops.h"
#include "core/profiler.h"

namespace ag {

constexpr OpKind kMseLossOp{"mse_loss", OpFamily::kElementwise};

// The input of an mse_loss node (the targets are data, not differentiated).
enum class MseSlot : size_t { kPredictions };

// predictions (N) or (N, 1), targets N floats:
//   loss = (1/N) Σ_i (p_i − t_i)²
//   dloss/dp_i = 2 (p_i − t_i) / N · dloss
// FLOPs: 3N forward (subtract, square, add), 3N backward. Sums in double, as the mean of many
// squared errors in float drifts with N.
Tensor mse_loss(const Tensor& predictions, const std::vector<float>& targets) {
  ProfileScope profile(kMseLossOp);
  const bool column = predictions.dim() == 2 && predictions.size(1) == 1;
  if (!(predictions.dim() == 1 || column) || predictions.size(0) != int64_t(targets.size()))
    throw ShapeError("mse_loss: predictions " + to_string(predictions.shape()) +
                     " need (N) or (N, 1) with N = " + std::to_string(targets.size()) + " targets");
  const int64_t N = predictions.size(0);
  const float* p = predictions.data();
  std::vector<float> errors(static_cast<size_t>(N));  // p_i − t_i, for the backward pass
  double total = 0.0;
  for (int64_t i = 0; i < N; ++i) {
    const double e = double(p[i]) - double(targets[size_t(i)]);
    errors[size_t(i)] = float(e);
    total += e * e;
  }
  // No row: the mean is 0/0; torch returns nan, and so do we.
  Tensor loss = Tensor::scalar(N ? float(total / double(N)) : std::nanf(""));
  if (auto node = record(kMseLossOp, {predictions}, loss)) {
    node->backward_fn = [errors = std::move(errors), N](Node& n) {
      GradBuffer d = n.grad_for(MseSlot::kPredictions);
      const float g = N ? 2.0f * n.grad.item() / float(N) : 0.0f;
      for (int64_t i = 0; i < N; ++i) {
        const float v = g * errors[size_t(i)];
        d.data[i] = (d.accumulate ? d.data[i] : 0.0f) + v;
      }
    };
  }
  return loss;
}

}  // namespace ag
