#include "models/classifier_factory.h"

#include "core/errors.h"
#include "models/bert.h"
#include "models/distilbert.h"

namespace ag::models {

std::shared_ptr<SequenceClassifier> make_classifier(const EncoderConfig& config) {
  if (config.model_type == "distilbert")
    return std::make_shared<DistilBertForSequenceClassification>(config);
  if (config.model_type == "bert") return std::make_shared<BertForSequenceClassification>(config);
  throw Error("make_classifier: unknown model_type '" + config.model_type + "'");
}

}  // namespace ag::models
