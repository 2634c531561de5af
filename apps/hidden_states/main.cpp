// hidden_states: sentences in, the encoder's last hidden state out.
//
//   build/bin/hidden_states --model DIR [--tokenizer DIR] [--input FILE] [--output FILE]
//
// Loads a Hugging Face model folder (config.json + model.safetensors), reads one sentence per
// line (a blank line is an empty sentence: row i of the output is line i) from --input or stdin,
// tokenizes them with the folder's vocabulary, pads them into one batch and runs the encoder in
// eval mode without autograd, like
//
//   with torch.no_grad(): model(input_ids, attention_mask).last_hidden_state
//
// With --output the result is written as safetensors: "last_hidden_state" F32 (B, T, D),
// "input_ids" and "attention_mask" I64 (B, T); padding positions hold the pad id and mask 0.
// Without --output a short summary is printed. --output follows train's and merge's output
// rules (apps/common/run_folder.h): an input (by real path) or anything but a regular file at
// that name is refused before any work. tools/compare_minilm.py checks the numbers
// against transformers on the real all-MiniLM-L6-v2.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>
#include "apps/common/app_util.h"
#include "apps/common/base_load_notices.h"
#include "apps/common/run_folder.h"

#include "core/autograd.h"
#include "core/errors.h"
#include "core/io/safetensors.h"
#include "data/bert_tokenizer.h"
#include "data/text_file.h"
#include "models/pretrained.h"

namespace {

std::vector<std::string> read_lines(std::istream& in, const std::string& name,
                                    int64_t max_line_bytes) {
  std::vector<std::string> lines;
  ag::data::LineReader reader(in, name, max_line_bytes);
  for (std::string line; reader.next(line);) lines.push_back(line);
  return lines;
}

// Right-pads every encoding to the longest one: ids with `pad_id`, mask and types with 0.
ag::models::EncoderInput pad_batch(const std::vector<ag::data::Encoding>& encodings,
                                   int32_t pad_id) {
  const int64_t B = int64_t(encodings.size());
  int64_t T = 0;
  for (auto& e : encodings) T = std::max<int64_t>(T, int64_t(e.input_ids.size()));
  ag::models::EncoderInput batch{{{B, T}, std::vector<int32_t>(B * T, pad_id)},
                                 {{B, T}, std::vector<int32_t>(B * T, 0)},
                                 {{B, T}, std::vector<int32_t>(B * T, 0)}};
  for (int64_t b = 0; b < B; ++b) {
    const auto& e = encodings[b];
    for (size_t t = 0; t < e.input_ids.size(); ++t) {
      batch.input_ids.values[b * T + t] = e.input_ids[t];
      batch.attention_mask.values[b * T + t] = e.attention_mask[t];
      batch.token_type_ids.values[b * T + t] = e.token_type_ids[t];
    }
  }
  return batch;
}

std::set<std::string> head_parameter_names(ag::models::SequenceClassifier& model) {
  std::set<std::string> names;
  for (const std::string& head : model.head_modules())
    for (auto& [name, p] : model.find_module(head)->named_parameters())
      names.insert(head + "." + name);
  return names;
}

std::vector<int64_t> to_i64(const ag::Indices& x) {
  return {x.values.begin(), x.values.end()};
}

}  // namespace

int main(int argc, char** argv) {
  ag::apps::start_app(argv);
  CLI::App app{"Runs a BERT/DistilBERT encoder on sentences and writes its last hidden state."};
  std::string model_dir, tokenizer_dir, input_path, output_path;
  int64_t max_length = 0, max_line_bytes = ag::data::kDefaultMaxLineBytes;
  app.add_option("--model", model_dir, "Hugging Face model folder (config.json, model.safetensors)")
      ->required();
  app.add_option("--tokenizer", tokenizer_dir, "tokenizer folder (default: the model folder)");
  app.add_option("--input", input_path, "sentences, one per line (default: stdin)");
  app.add_option("--output", output_path, "safetensors file to write (default: print a summary)");
  app.add_option("--max-length", max_length, "truncate to this many tokens (default: tokenizer's)");
  app.add_option("--max-line-bytes", max_line_bytes, "longest input line accepted, in bytes");
  return ag::apps::run_guarded([&] {
    if (auto done = ag::apps::parse_arguments(app, argc, argv)) return *done;
    ag::apps::check_input_limits(app, max_length, max_line_bytes);
    // The output replaces what is at its name: never an input, never a device, FIFO or link.
    ag::apps::check_output_file(
        {"--output", output_path},
        {{"--model", model_dir}, {"--tokenizer", tokenizer_dir}, {"--input", input_path}});
    auto tokenizer =
        ag::data::BertTokenizer::from_pretrained(tokenizer_dir.empty() ? model_dir : tokenizer_dir);
    std::vector<std::string> sentences;
    if (input_path.empty()) {
      sentences = read_lines(std::cin, "stdin", max_line_bytes);
    } else {
      std::ifstream in = ag::data::open_text_input(input_path);
      sentences = read_lines(in, input_path, max_line_bytes);
    }
    if (sentences.empty())
      throw ag::Error("no sentences in " + (input_path.empty() ? "stdin" : input_path));

    ag::models::LoadOptions options;
    // Ignored keys are said; a missing classification head is not: the head takes no part in
    // the hidden states, so a base model without one (the usual case) is no news here.
    ag::apps::BaseLoadNotices notices(&std::cerr);
    options.notices = notices.stream();
    auto model = ag::models::from_pretrained(model_dir, options);
    notices.release(head_parameter_names(*model));
    model->eval();
    const auto batch =
        pad_batch(tokenizer.encode_batch(
                      sentences, max_length > 0 ? max_length : tokenizer.model_max_length()),
                  tokenizer.pad_id());
    ag::Tensor hidden;
    {
      ag::NoGradGuard no_grad;
      hidden = model->last_hidden_state(batch);
    }
    const std::vector<float> values = hidden.to_vector();

    if (output_path.empty()) {
      const int64_t D = hidden.size(-1);
      double sum_sq = 0;  // over real tokens only
      int64_t real = 0;
      for (int64_t i = 0; i < batch.input_ids.numel(); ++i) {
        if (!batch.attention_mask.values[i]) continue;
        ++real;
        for (int64_t d = 0; d < D; ++d) sum_sq += double(values[i * D + d]) * values[i * D + d];
      }
      std::cout << sentences.size() << " sentences, " << real << " tokens, last_hidden_state "
                << ag::to_string(hidden.shape()) << ", rms over tokens "
                << std::sqrt(sum_sq / double(real * D)) << "\n";
      ag::data::close_stdout_checked();
      return 0;
    }
    const auto ids = to_i64(batch.input_ids), mask = to_i64(batch.attention_mask);
    using ag::safetensors::DType;
    ag::safetensors::save(
        output_path,
        {{"last_hidden_state", DType::F32, hidden.shape(), values.data(),
          values.size() * sizeof(float)},
         {"input_ids", DType::I64, batch.input_ids.shape, ids.data(), ids.size() * sizeof(int64_t)},
         {"attention_mask", DType::I64, batch.attention_mask.shape, mask.data(),
          mask.size() * sizeof(int64_t)}},
        {{"model", model_dir}});
    std::cerr << "wrote " << output_path << ": last_hidden_state " << ag::to_string(hidden.shape())
              << "\n";
    return 0;
  });
}
