// Evaluation: loss, accuracy and macro-F1 of a classifier over a data loader, in eval mode
// without autograd (model.eval(); with torch.no_grad(): ...).
#pragma once

#include <cstdint>
#include <vector>

#include "data/data_loader.h"
#include "models/encoder.h"
#include "nn/distributed.h"

namespace ag::apps {

struct EvalResult {
  double loss = 0, accuracy = 0, macro_f1 = 0;
  int64_t examples = 0;
  std::vector<int32_t> predictions;  // per example of the loader, in the loader's order
  std::vector<int32_t> labels;       // the same order
  // A regression (one output, MSE loss): the predicted and the true value per example, in the
  // loader's order; accuracy, macro_f1, predictions and labels are then unused.
  std::vector<double> scores, targets;
};

// Per-class F1 = 2·TP / (2·TP + FP + FN), averaged over the classes that occur among the labels
// or the predictions: scikit-learn's f1_score(labels, predictions, average="macro").
double macro_f1(const std::vector<int32_t>& labels, const std::vector<int32_t>& predictions,
                int64_t num_labels);

// Switches the model to eval mode for the pass and restores the previous mode after. With a
// distributed `group`, rank r runs batches r, r + N, ... and the counts are summed over the
// ranks (one Allreduce), so every rank returns the whole result.
// With `regression` the loss is the MSE of the single output against the batch's targets.
EvalResult evaluate(models::SequenceClassifier& model, const data::DataLoader& loader,
                    int64_t num_labels, nn::ProcessGroup* group = nullptr, bool regression = false);

// Softmax probabilities of one logits row.
std::vector<float> softmax_row(const float* logits, int64_t n);

}  // namespace ag::apps
