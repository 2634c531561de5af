// Running the benchmark's steps: the model as bench_torch.py builds it, one timed
// training step or eval forward per batch, and the measurements around them.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "apps/bench/bench_measure.h"
#include "apps/bench/bench_workload.h"
#include "core/profiler.h"
#include "models/encoder.h"
#include "nn/module.h"
#include "nn/precision.h"

namespace ag::bench {

struct BenchOptions {
  std::string method = "lora", shape = "fixed";  // lora|dora|full|infer, fixed|mixed
  int threads = 1;
  int64_t warmup = 3, steps = 10, rank = 8;
  float dropout = 0.05f, lr = 5e-4f;
  std::string dora_dropout = "peft";  // peft|branch (nn::LoraConfig::dora_branch_dropout)
  uint64_t seed = 1234, weight_seed = 0;
  bool profile = false;            // turn on core's per-op-family timers
  bool padded = false;             // infer: the padded batch as given, not in length-sorted chunks
  std::string precision = "fp32";  // fp32|bf16|auto (nn/precision.h)
};

constexpr int kFamilies = int(OpFamily::kCount);

// Seconds spent in each phase of one step; `total` is the whole step as timed.
struct Phases {
  double forward = 0, loss = 0, backward = 0, optimizer = 0, total = 0;
  double other() const { return total - forward - loss - backward - optimizer; }
};

struct StepRecord {
  Phases phases;
  std::array<double, kFamilies> families{};  // seconds per op family (with `profile`)
  double value = 0;                          // the loss, or the mean |logit| for infer
  // The step's graph nodes, and its weight-gradient GEMMs: the Linear weights (adapter factors
  // apart) that got a gradient, each computed by one GEMM.
  int64_t nodes = 0, weight_grad_gemms = 0;
};

// Everything one benchmark process measures.
struct BenchRun {
  std::vector<Batch> timed_batches;  // the batches of `records`, in order
  std::vector<StepRecord> records;   // the timed steps (after the warm-up)
  nn::ParameterCount params;
  double rss_start_mib = 0, rss_before_steps_mib = 0, peak_rss_mib = 0;
  SgemmSpeed sgemm;
  SgemmSpeed bf16_gemm;  // the same product in bf16 (zero when the step ran in fp32)
  nn::PrecisionChoice precision;
};

// distilbert-base-uncased (random weights, 2 labels) with PEFT-style adapters on q_lin and v_lin
// (only the adapters train) for lora/dora, everything trainable for full, merged adapters for
// infer.
std::shared_ptr<models::SequenceClassifier> build_bench_model(const BenchOptions& o);

// Builds the model and the batches, runs the warm-up and timed steps, reads the peak RSS, then
// measures the sgemm reference.
BenchRun run_benchmark(const BenchOptions& o);

}  // namespace ag::bench
