#include "apps/common/evaluate.h"

#include <algorithm>
#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"
#include "models/batch_input.h"
#include "models/length_chunks.h"

namespace ag::apps {

double macro_f1(const std::vector<int32_t>& labels, const std::vector<int32_t>& predictions,
                int64_t num_labels) {
  std::vector<int64_t> tp(num_labels), fp(num_labels), fn(num_labels);
  std::vector<bool> present(num_labels, false);  // in the labels or in the predictions
  for (size_t i = 0; i < labels.size(); ++i) {
    present[labels[i]] = present[predictions[i]] = true;
    if (labels[i] == predictions[i]) {
      ++tp[labels[i]];
    } else {
      ++fp[predictions[i]];
      ++fn[labels[i]];
    }
  }
  // A class that is neither a label nor a prediction here says nothing about this data: like
  // scikit-learn (labels = the classes of y_true and y_pred), it is left out of the average
  // rather than counted as F1 = 0.
  double sum = 0;
  int64_t classes = 0;
  for (int64_t c = 0; c < num_labels; ++c) {
    if (!present[c]) continue;
    ++classes;
    sum += 2.0 * double(tp[c]) / double(2 * tp[c] + fp[c] + fn[c]);
  }
  return classes ? sum / double(classes) : 0.0;
}

EvalResult evaluate(models::SequenceClassifier& model, const data::DataLoader& loader,
                    int64_t num_labels, nn::ProcessGroup* group, bool regression) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  const int64_t rank = group ? group->rank() : 0, ranks = group ? group->size() : 1;
  const auto n = size_t(loader.num_examples());
  EvalResult r;
  r.predictions.assign(n, -1);
  std::vector<int32_t> labels(n, -1);
  if (regression) r.scores.assign(n, 0.0), r.targets.assign(n, 0.0);
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t index = rank; index < loader.num_batches(); index += ranks) {
    const data::Batch batch = loader.batch(index);
    const Tensor logits = models::forward_in_length_chunks(model, models::to_encoder_input(batch));
    const float* l = logits.data();
    if (regression) {
      loss_sum += double(mse_loss(logits, batch.targets).item()) * double(batch.batch_size);
      for (int64_t i = 0; i < batch.batch_size; ++i) {
        r.scores[size_t(batch.example_indices[i])] = l[i];
        r.targets[size_t(batch.example_indices[i])] = batch.targets[size_t(i)];
      }
      continue;
    }
    const Indices y{{batch.batch_size}, batch.labels};
    loss_sum += double(cross_entropy(logits, y).item()) * double(batch.batch_size);
    for (int64_t i = 0; i < batch.batch_size; ++i) {
      const float* row = l + i * num_labels;
      const int32_t pred = int32_t(std::max_element(row, row + num_labels) - row);
      r.predictions[size_t(batch.example_indices[i])] = pred;
      labels[size_t(batch.example_indices[i])] = batch.labels[i];
      correct += pred == batch.labels[i];
    }
  }
  if (ranks > 1) {  // [loss_sum, correct, predictions + 1..., labels + 1...]; 0 = another rank's
    std::vector<double> totals{loss_sum, double(correct)};
    for (int32_t p : r.predictions) totals.push_back(p + 1);
    for (int32_t y : labels) totals.push_back(y + 1);
    // Each example is one rank's (its batch's): the others hold 0, so the sum is its value.
    totals.insert(totals.end(), r.scores.begin(), r.scores.end());
    totals.insert(totals.end(), r.targets.begin(), r.targets.end());
    totals = group->sum(totals);
    loss_sum = totals[0];
    correct = int64_t(totals[1]);
    for (size_t i = 0; i < n; ++i) {
      r.predictions[i] = int32_t(totals[2 + i]) - 1;
      labels[i] = int32_t(totals[2 + n + i]) - 1;
    }
    for (size_t i = 0; i < r.scores.size(); ++i) {
      r.scores[i] = totals[2 + 2 * n + i];
      r.targets[i] = totals[2 + 3 * n + i];
    }
  }
  r.examples = loader.num_examples();
  if (r.examples) {
    r.loss = loss_sum / double(r.examples);
    r.accuracy = double(correct) / double(r.examples);
    if (!regression) r.macro_f1 = macro_f1(labels, r.predictions, num_labels);
  }
  r.labels = std::move(labels);
  model.train(was_training);
  return r;
}

std::vector<float> softmax_row(const float* logits, int64_t n) {
  std::vector<float> p(logits, logits + n);
  const float mx = *std::max_element(p.begin(), p.end());
  double sum = 0;
  for (auto& v : p) sum += (v = std::exp(v - mx));
  for (auto& v : p) v = float(v / sum);
  return p;
}

}  // namespace ag::apps
