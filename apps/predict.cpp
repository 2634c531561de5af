// predict: labels new texts with a model trained by `train`.
//
//   build/bin/predict --run runs/X [--input FILE]            (one text per line; default stdin)
//   build/bin/predict --model BASE --adapter ADAPTER_DIR [--labels labels.json] [--input FILE]
//
// Prints one line per text: label <TAB> probability <TAB> text. Blank lines are skipped. For a
// run trained on text pairs (--text-pair-column) each line is "text<TAB>text_pair".
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "apps/common/app_util.h"
#include "apps/common/evaluate.h"
#include "apps/common/trained_run.h"
#include "core/autograd.h"
#include "core/errors.h"
#include "core/parallel.h"
#include "models/length_chunks.h"

using namespace ag;
using namespace ag::apps;

int main(int argc, char** argv) {
  start_app(argv);
  CLI::App app{"Labels texts with a classifier trained by `train` (base model + adapter)."};
  TrainedRunOptions o;
  std::string input;
  int64_t batch_size = 32, threads = 0;
  app.add_option("--run", o.run, "a train run folder (--out of train)");
  app.add_option("--model", o.model, "base model folder (default: the run's)");
  app.add_option("--adapter", o.adapter, "adapter folder (default: the run folder)");
  app.add_option("--labels", o.labels, "labels.json (default: the run's)");
  app.add_option("--tokenizer", o.tokenizer, "tokenizer folder (default: the run's)");
  app.add_option("--max-length", o.max_length, "truncate to this many tokens (default: the run's)");
  app.add_option("--input", input, "texts, one per line (default: stdin)");
  app.add_option("--batch-size", batch_size, "texts per forward pass");
  app.add_option("--threads", threads, "threads (0: all cores)");
  return run_guarded([&] {
    try {
      app.parse(argc, argv);
    } catch (const CLI::Success& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      throw Error(e.what());
    }
    if (batch_size <= 0) throw Error("--batch-size must be positive");
    set_num_threads(int(threads));
    TrainedRun run = load_trained_run(o, &std::cerr);
    std::ifstream file;
    if (!input.empty()) {
      file.open(input);
      if (!file) throw Error(input + ": cannot open");
    }
    std::istream& in = input.empty() ? std::cin : file;
    std::vector<std::string> texts;
    NoGradGuard no_grad;
    auto flush = [&] {
      if (texts.empty()) return;
      std::vector<data::EncodedExample> enc;
      for (auto& t : texts) {
        const size_t tab = run.text_pairs ? t.find('\t') : std::string::npos;
        auto e =
            tab == std::string::npos
                ? run.tokenizer->encode(t, run.max_length)
                : run.tokenizer->encode_pair(t.substr(0, tab), t.substr(tab + 1), run.max_length);
        enc.push_back({e.input_ids, e.token_type_ids, 0});
      }
      data::DataLoaderOptions lo;
      lo.batch_size = int64_t(enc.size());
      lo.shuffle = false;
      lo.pad_token_id = run.tokenizer->pad_id();
      const data::DataLoader loader(std::move(enc), lo);
      const data::Batch batch = loader.batch(0);
      const Tensor logits = models::forward_in_length_chunks(*run.model, to_encoder_input(batch));
      const int64_t k = run.labels.size();
      for (size_t i = 0; i < texts.size(); ++i) {
        const auto p = softmax_row(logits.data() + int64_t(i) * k, k);
        const int32_t best = int32_t(std::max_element(p.begin(), p.end()) - p.begin());
        std::printf("%s\t%.4f\t%s\n", run.labels.name(best).c_str(), p[size_t(best)],
                    texts[i].c_str());
      }
      std::fflush(stdout);
      texts.clear();
    };
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      texts.push_back(line);
      if (int64_t(texts.size()) >= batch_size) flush();
    }
    flush();
    return 0;
  });
}
