// The one place that knows every model: a classifier from its config's model_type. It sits
// above bert.h and distilbert.h, which sit above encoder.h (the pieces both models share).
#pragma once

#include <memory>

#include "models/config.h"
#include "models/encoder.h"

namespace ag::models {

// Builds the classifier that `config.model_type` names, randomly initialised as transformers.
std::shared_ptr<SequenceClassifier> make_classifier(const EncoderConfig& config);

}  // namespace ag::models
