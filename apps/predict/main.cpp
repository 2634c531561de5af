// predict: labels new texts with a model trained by `train`.
//
//   build/bin/predict --run runs/X [--input FILE]            (one text per line; default stdin)
//   build/bin/predict --model BASE --adapter ADAPTER_DIR [--labels labels.json] [--input FILE]
//
// Prints one line per input line, in order: label <TAB> probability <TAB> text (a blank line is
// an empty text, so outputs always line up with inputs). For a run trained on text pairs
// (--text-pair-column) each line is "text<TAB>text_pair". A line that is not UTF-8 text (invalid
// UTF-8, a NUL byte, longer than --max-line-bytes), a line without a TAB for a pair model, or
// logits that are not finite numbers are errors naming the line, printed after the answers to
// every line before it; so are a failed write to standard output and a closed stdin.
#include <fcntl.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "apps/common/app_util.h"
#include "apps/common/evaluate.h"
#include "apps/common/run_threads.h"
#include "apps/predict/trained_run.h"
#include "core/autograd.h"
#include "core/errors.h"
#include "core/parallel.h"
#include "data/data_error.h"
#include "data/text_file.h"
#include "models/batch_input.h"
#include "models/length_chunks.h"
#include "nn/precision.h"

using namespace ag;
using namespace ag::apps;

// True when standard input is not open at all (`predict <&-`): reading it would give "no
// lines" and exit 0, and the first file opened would take its descriptor. Checked before
// anything is opened.
static bool stdin_is_closed() {
  return fcntl(STDIN_FILENO, F_GETFD) == -1 && errno == EBADF;
}

// Whether every value of a logits row is a number: a model whose finite weights overflow
// float32 gives Inf or NaN, which softmax and argmax would turn into one fixed answer for all.
static bool all_finite(const float* row, int64_t n) {
  return std::all_of(row, row + n, [](float v) { return std::isfinite(v); });
}

int main(int argc, char** argv) {
  const bool stdin_closed = stdin_is_closed();
  start_app(argv);
  CLI::App app{"Labels texts with a classifier trained by `train` (base model + adapter)."};
  TrainedRunOptions o;
  std::string input;
  int64_t batch_size = 32, threads = 0, max_line_bytes = data::kDefaultMaxLineBytes;
  std::string precision = "auto";
  app.add_option("--run", o.run, "a train run folder (--out of train)");
  app.add_option("--model", o.model, "base model folder (default: the run's)");
  app.add_option("--adapter", o.adapter, "adapter folder (default: the run folder)");
  app.add_option("--labels", o.labels, "labels.json (default: the run's)");
  app.add_option("--tokenizer", o.tokenizer, "tokenizer folder (default: the run's)");
  app.add_option("--max-length", o.max_length, "truncate to this many tokens (default: the run's)");
  app.add_option("--input", input, "texts, one per line (default: stdin)");
  app.add_option("--batch-size", batch_size, "texts per forward pass");
  app.add_option("--threads", threads,
                 "threads (0: one per core other processes leave free; OMP_NUM_THREADS when set)");
  app.add_option("--max-line-bytes", max_line_bytes, "longest input line accepted, in bytes");
  app.add_option("--precision", precision,
                 "fp32|bf16|auto: the linear layers' products in bf16 (auto: where the CPU has "
                 "AMX-BF16 or is an AMD with AVX512_BF16)")
      ->check(CLI::IsMember({"fp32", "bf16", "auto"}))
      ->capture_default_str();
  return run_guarded([&] {
    if (auto done = parse_arguments(app, argc, argv)) return *done;
    if (batch_size <= 0) throw Error("--batch-size must be positive");
    if (threads < 0) throw Error("--threads must be >= 0 (0: one per free core)");
    if (input.empty() && stdin_closed)
      throw Error("stdin is closed: pipe the texts in or pass --input FILE");
    check_input_limits(app, o.max_length, max_line_bytes);
    std::ifstream file;
    if (!input.empty()) file = data::open_text_input(input);  // before the model loads
    RunThreads thread_count(threads, 1);
    TrainedRun run = load_trained_run(o, &std::cerr);
    models::set_precision(*run.model, nn::resolve_precision(precision).precision);
    thread_count.settle();  // one thread per free core; said nowhere: stdout is the answers
    data::LineReader lines(input.empty() ? std::cin : file, input.empty() ? "stdin" : input,
                           max_line_bytes);
    std::vector<std::string> texts;  // read, not yet answered
    int64_t first_line = 0;          // the line number of texts[0]
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
      const Tensor logits =
          models::forward_in_length_chunks(*run.model, models::to_encoder_input(batch));
      const int64_t k = run.labels.size();
      for (size_t i = 0; i < texts.size(); ++i) {
        const float* row = logits.data() + int64_t(i) * k;
        if (!all_finite(row, k)) {
          data::flush_checked(std::cout, "stdout");  // the lines before it are answered
          throw Error(lines.name() + ":" + std::to_string(first_line + int64_t(i)) +
                      ": the logits are not finite (NaN or Inf): the weights in " +
                      run.weights_file + " overflow float32");
        }
        if (k == 1) {  // a regression (one output, e.g. STS-B): the value, then the text
          char score[32];
          std::snprintf(score, sizeof score, "%.4f", row[0]);
          std::cout << score << '\t' << texts[i] << '\n';
          continue;
        }
        const auto p = softmax_row(row, k);
        const int32_t best = int32_t(std::max_element(p.begin(), p.end()) - p.begin());
        char probability[32];
        std::snprintf(probability, sizeof probability, "%.4f", p[size_t(best)]);
        std::cout << run.labels.name(best) << '\t' << probability << '\t' << texts[i] << '\n';
      }
      data::flush_checked(std::cout, "stdout");  // stop at the first failed write
      texts.clear();
    };
    // The next line, checked; on a bad line the lines read before it are answered first.
    auto next_line = [&](std::string& line) {
      try {
        if (!lines.next(line)) return false;
        // A pair model reads "text<TAB>text_pair"; a blank line is the empty text, as always.
        if (run.text_pairs && !line.empty() && line.find('\t') == std::string::npos)
          throw data::DataError(lines.name() + ":" + std::to_string(lines.line_number()) +
                                ": expected two texts separated by a TAB (the model was trained "
                                "on text pairs)");
        return true;
      } catch (const data::DataError&) {
        flush();
        throw;
      }
    };
    for (std::string line; next_line(line);) {
      if (texts.empty()) first_line = lines.line_number();
      texts.push_back(line);
      if (int64_t(texts.size()) >= batch_size) flush();
    }
    flush();
    data::close_stdout_checked();
    return 0;
  });
}
