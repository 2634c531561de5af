// Loading what the train app saved, for predict: the base model, the adapter (or the whole
// fine-tuned model), the label names and the tokenizer.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "data/bert_tokenizer.h"
#include "data/label_map.h"
#include "models/encoder.h"

namespace ag::apps {

struct TrainedRun {
  std::shared_ptr<models::SequenceClassifier> model;  // in eval mode
  data::LabelMap labels;
  std::optional<data::BertTokenizer> tokenizer;
  int64_t max_length = 128;
  bool text_pairs = false;   // trained on text pairs: input lines are "text<TAB>text_pair"
  std::string description;   // "adapter runs/x on base Y" or "model runs/x"
  std::string weights_file;  // the adapter's adapter_model.safetensors, else the model's weights
};

struct TrainedRunOptions {
  std::string run;         // a train --out folder
  std::string model;       // base model (overrides the adapter's base_model_name_or_path)
  std::string adapter;     // adapter folder (default: the run folder when it holds one)
  std::string labels;      // labels.json (default: in the run / adapter folder)
  std::string tokenizer;   // default: the run folder, else the base model folder
  int64_t max_length = 0;  // 0: the run's --max-length, else 128
};

TrainedRun load_trained_run(const TrainedRunOptions& options, std::ostream* notices);

}  // namespace ag::apps
