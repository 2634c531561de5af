// bench: one training step of DistilBertForSequenceClassification (distilbert-base-uncased
// shapes, random weights, fp32) with LoRA, DoRA or full fine-tuning, or one eval forward with
// merged adapters; the adaptgrad side of tools/bench/.
//
//   build/bin/bench --method lora|dora|full|infer --shape fixed|mixed --threads N
//                   [--warmup 3] [--steps 10] [--dropout 0.05] [--dora-dropout peft|branch]
//                   [--rank 8] [--lr 5e-4]
//                   [--seed 1234] [--weight-seed 0] [--precision fp32|bf16|auto]
//                   [--profile] [--padded] [--json]
//
// Prints one JSON line on stdout with the keys of tools/bench/bench_torch.py (side "adaptgrad")
// and a readable summary on stderr (--json: the JSON line only). The batches, the FLOP formula
// and every field are defined in tools/bench/README.md. --profile adds the median time per
// phase (forward, loss, backward, optimizer, other) and per op family (core/profiler.h: gemm,
// attention, norm, elementwise, optimizer, other) to both outputs.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include "apps/common/app_util.h"

#include "apps/bench/bench_report.h"
#include "apps/bench/bench_run.h"
#include "core/parallel.h"

namespace {

// "--steps: must be at least 1, got 0" instead of CLI11's range message.
CLI::Validator at_least(long long min) {
  return CLI::Validator(
      [min](std::string& text) -> std::string {
        long long value = 0;
        try {
          value = std::stoll(text);
        } catch (const std::exception&) {
          return "expected an integer, got '" + text + "'";
        }
        return value >= min ? "" : "must be at least " + std::to_string(min) + ", got " + text;
      },
      "INT>=" + std::to_string(min));
}

}  // namespace

int main(int argc, char** argv) {
  ag::apps::start_app(argv);
  CLI::App app{"Benchmarks one DistilBERT LoRA/DoRA/full training step or a merged eval forward."};
  ag::bench::BenchOptions o;
  bool json_only = false;
  app.add_option("--method", o.method, "lora, dora, full or infer")
      ->check(CLI::IsMember({"lora", "dora", "full", "infer"}))
      ->capture_default_str();
  app.add_option("--shape", o.shape, "fixed (16 x 128) or mixed (32 x 8..64)")
      ->check(CLI::IsMember({"fixed", "mixed"}))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "OpenMP and OpenBLAS threads")
      ->check(at_least(1))
      ->capture_default_str();
  app.add_option("--warmup", o.warmup, "untimed steps first")
      ->check(at_least(0))
      ->capture_default_str();
  app.add_option("--steps", o.steps, "timed steps (median)")
      ->check(at_least(1))
      ->capture_default_str();
  app.add_option("--dropout", o.dropout, "LoRA/DoRA dropout")->capture_default_str();
  app.add_option("--dora-dropout", o.dora_dropout,
                 "DoRA: peft (PEFT's formula) or branch (the low-rank branch only)")
      ->check(CLI::IsMember({"peft", "branch"}))
      ->capture_default_str();
  app.add_option("--rank", o.rank, "LoRA/DoRA rank")->check(at_least(1))->capture_default_str();
  app.add_option("--lr", o.lr, "AdamW learning rate")->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the batch stream")->capture_default_str();
  app.add_option("--weight-seed", o.weight_seed, "seed of the random weights and dropout")
      ->capture_default_str();
  app.add_option("--precision", o.precision,
                 "fp32, bf16 (linear layers' weights and attention products in bf16 through "
                 "oneDNN) or auto (bf16 where the CPU has AMX-BF16, or AVX512_BF16 on AMD)")
      ->check(CLI::IsMember({"fp32", "bf16", "auto"}))
      ->capture_default_str();
  app.add_flag("--profile", o.profile, "time per phase and per op family");
  app.add_flag("--padded", o.padded,
               "infer: run the padded batch as given (default: in length-sorted chunks, as "
               "evaluate and predict do)");
  app.add_flag("--json", json_only, "print only the JSON line (no summary on stderr)");
  return ag::apps::run_guarded([&] {
    if (auto done = ag::apps::parse_arguments(app, argc, argv)) return *done;
    ag::set_num_threads(o.threads);
    const ag::bench::BenchRun run = ag::bench::run_benchmark(o);
    const auto json = ag::bench::bench_json(o, run);
    std::cout << json.dump() << std::endl;
    if (!json_only) ag::bench::print_summary(stderr, o, run, json);
    return 0;
  });
}
