#include "data/polarity_corpus.h"

namespace ag::data {

Dataset read_pang_lee_polarity(const std::string& path, bool skip_bad_rows) {
  TableReadOptions options = TableReadOptions::csv();
  options.has_header = false;
  options.label_column = "0";
  options.text_column = "1";
  options.labels = LabelMap({"negative", "positive"}, {"-1", "1"});
  options.skip_bad_rows = skip_bad_rows;
  Dataset dataset = read_table(path, options);
  for (Example& example : dataset.examples) {
    while (!example.text.empty() && (example.text.back() == ' ' || example.text.back() == '\n' ||
                                     example.text.back() == '\r'))
      example.text.pop_back();
  }
  return dataset;
}

}  // namespace ag::data
