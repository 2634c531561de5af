#include "apps/train/data_order.h"

#include <ostream>

#include <nlohmann/json.hpp>

#include "apps/common/glue_task.h"
#include "core/io/atomic_file.h"

namespace ag::apps {
namespace {

void write_split(std::ostream& out, const char* name, const data::Dataset& d,
                 const data::BertTokenizer& tokenizer, int64_t max_length) {
  const std::vector<data::EncodedExample> encoded = data::encode_dataset(d, tokenizer, max_length);
  for (size_t i = 0; i < d.examples.size(); ++i)
    out << nlohmann::json{{"split", name},
                          {"text", d.examples[i].text},
                          {"text_pair", d.examples[i].text_pair},
                          // A regression's label is its float value; a class's its id.
                          {"label", d.float_labels ? nlohmann::json(d.examples[i].target)
                                                   : nlohmann::json(d.examples[i].label)},
                          {"input_ids", encoded[i].input_ids}}
        << "\n";
}

}  // namespace

void write_data_order(const std::string& path, const RunData& run,
                      const data::BertTokenizer& tokenizer, const data::DataLoader& train_loader,
                      const TrainConfig& c) {
  write_file_atomically(path, [&](std::ostream& out) {
    out << nlohmann::json{{"labels", run.train.labels.names()},
                          {"max_length", c.max_length},
                          {"batch_size", train_loader.options().batch_size},
                          {"epochs", c.epochs},
                          {"seed", c.seed},
                          {"bucket", c.bucket},
                          {"problem_type",
                           c.is_regression() ? "regression" : "single_label_classification"},
                          {"metrics", run_metrics(c)},
                          {"sizes",
                           {{"train", run.train.size()},
                            {"validation", run.validation.size()},
                            {"test", run.test.size()}}}}
        << "\n";
    write_split(out, "train", run.train, tokenizer, c.max_length);
    write_split(out, "validation", run.validation, tokenizer, c.max_length);
    write_split(out, "test", run.test, tokenizer, c.max_length);
    data::DataLoader loader = train_loader;  // set_epoch changes the order: work on a copy
    for (int64_t epoch = 0; epoch < c.epochs; ++epoch) {
      loader.set_epoch(epoch);
      nlohmann::json batches = nlohmann::json::array();
      for (int64_t b = 0; b < loader.num_batches(); ++b)
        batches.push_back(loader.batch(b).example_indices);
      out << nlohmann::json{{"epoch", epoch}, {"batches", std::move(batches)}} << "\n";
    }
  });
}

}  // namespace ag::apps
