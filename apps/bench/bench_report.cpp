#include "apps/bench/bench_report.h"

#include <algorithm>

#include "core/machine/blas_startup.h"
#include "core/parallel.h"

namespace ag::bench {

namespace {

template <class F>
double median_ms(const BenchRun& run, F seconds_of) {
  std::vector<double> v;
  for (const auto& r : run.records) v.push_back(seconds_of(r));
  return round_to(median(v) * 1e3, 2);
}

nlohmann::ordered_json to_object(const MsTable& table) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [name, ms] : table) j[name] = ms;
  return j;
}

}  // namespace

MsTable phase_table(const BenchRun& run) {
  return {
      {"forward", median_ms(run, [](const StepRecord& r) { return r.phases.forward; })},
      {"loss", median_ms(run, [](const StepRecord& r) { return r.phases.loss; })},
      {"backward", median_ms(run, [](const StepRecord& r) { return r.phases.backward; })},
      {"optimizer", median_ms(run, [](const StepRecord& r) { return r.phases.optimizer; })},
      {"other", median_ms(run, [](const StepRecord& r) { return r.phases.other(); })},
      {"total", median_ms(run, [](const StepRecord& r) { return r.phases.total; })},
  };
}

MsTable family_table(const BenchRun& run) {
  MsTable table;
  for (int f = 0; f < kFamilies; ++f)
    table.emplace_back(family_name(OpFamily(f)),
                       median_ms(run, [f](const StepRecord& r) { return r.families[f]; }));
  table.emplace_back("unattributed", median_ms(run, [](const StepRecord& r) {
                       double sum = 0;
                       for (double s : r.families) sum += s;
                       return r.phases.total - sum;
                     }));
  return table;
}

nlohmann::ordered_json bench_json(const BenchOptions& o, const BenchRun& run) {
  std::vector<double> ms, tok, pad_tok, gflops, step_ms;
  double real_sum = 0, pad_sum = 0, gflop_sum = 0;
  for (size_t i = 0; i < run.records.size(); ++i) {
    const Batch& b = run.timed_batches[i];
    const double s = run.records[i].phases.total;
    const double padded = double(b.batch() * b.length());
    const double gflop = double(model_flops(o.method, b.batch(), b.length(), o.rank)) / 1e9;
    ms.push_back(s * 1e3);
    step_ms.push_back(round_to(s * 1e3, 2));
    tok.push_back(double(b.real_tokens) / s);
    pad_tok.push_back(padded / s);
    gflops.push_back(gflop / s);
    real_sum += double(b.real_tokens);
    pad_sum += padded;
    gflop_sum += gflop;
  }
  const double n = double(run.records.size());
  const double model_gflops = median(gflops);
  const bool adapters = o.method == "lora" || o.method == "dora";

  nlohmann::ordered_json j;
  j["side"] = "adaptgrad";
  j["method"] = o.method;
  j["shape"] = o.shape;
  j["threads"] = o.threads;
  j["attn"] = "native";  // adaptgrad's own attention ops (PyTorch: eager or sdpa)
  j["ms_per_step"] = round_to(median(ms), 3);
  j["tokens_per_s"] = round_to(median(tok), 1);
  j["padded_tokens_per_s"] = round_to(median(pad_tok), 1);
  j["model_gflops"] = round_to(model_gflops, 2);
  j["sgemm_gflops"] = round_to(run.sgemm.median_gflops, 2);
  j["flops_ratio"] = round_to(model_gflops / run.sgemm.median_gflops, 4);
  j["peak_rss_mib"] = round_to(run.peak_rss_mib, 1);
  j["precision"] = nn::precision_name(run.precision.precision);
  const bool bf16 = run.precision.precision == nn::Precision::kBf16;
  j["bf16_gemm_gflops"] =
      bf16 ? nlohmann::ordered_json(round_to(run.bf16_gemm.median_gflops, 2)) : nullptr;
  j["flops_ratio_bf16_gemm"] =
      bf16 ? nlohmann::ordered_json(round_to(model_gflops / run.bf16_gemm.median_gflops, 4))
           : nullptr;
  j["torch"] = nullptr;
  j["transformers"] = nullptr;
  j["peft"] = nullptr;
  j["version"] = version_string();
  j["blas_openmp"] = blas_uses_openmp();
  j["warmup"] = o.warmup;
  j["steps"] = o.steps;
  j["lora_dropout"] = adapters ? nlohmann::ordered_json(round_to(o.dropout, 6)) : nullptr;
  if (o.method == "dora") j["dora_dropout"] = o.dora_dropout;
  if (o.method == "infer") j["length_chunks"] = !o.padded;
  j["seed"] = o.seed;
  j["step_ms"] = step_ms;
  j["real_tokens_per_step"] = round_to(real_sum / n, 1);
  j["padded_tokens_per_step"] = round_to(pad_sum / n, 1);
  j["model_gflop_per_step"] = round_to(gflop_sum / n, 3);
  j["trainable_params"] = o.method == "infer" ? 0 : run.params.trainable;
  j["total_params"] = run.params.total;
  j["sgemm_gflops_max"] = round_to(run.sgemm.max_gflops, 2);
  j["rss_after_import_mib"] = round_to(run.rss_start_mib, 1);  // at start: nothing to import
  j["rss_before_steps_mib"] = round_to(run.rss_before_steps_mib, 1);
  j["peak_rss_minus_import_mib"] = round_to(run.peak_rss_mib - run.rss_start_mib, 1);
  j["num_threads"] = get_num_threads();
  j["blas"] = blas_runtime_json(get_num_threads());
  j[o.method == "infer" ? "final_mean_abs_logit" : "final_loss"] =
      round_to(run.records.back().value, 6);
  if (o.profile) {
    j["profile_ms"] = to_object(phase_table(run));
    j["profile_family_ms"] = to_object(family_table(run));
    j["graph_nodes_per_step"] = run.records.back().nodes;
    j["weight_grad_gemms_per_step"] = run.records.back().weight_grad_gemms;
  }
  return j;
}

void print_summary(std::FILE* out, const BenchOptions& o, const BenchRun& run,
                   const nlohmann::ordered_json& j) {
  const std::vector<double> steps = j["step_ms"];
  std::fprintf(out, "bench: %s %s, %d thread(s) (OpenBLAS %s), %s\n", o.method.c_str(),
               o.shape.c_str(), o.threads, blas_uses_openmp() ? "OpenMP" : "not OpenMP",
               j["version"].get<std::string>().c_str());
  std::fprintf(out, "  BLAS: %s\n", blas_runtime_line(get_num_threads()).c_str());
  std::fprintf(out, "  precision: %s\n", run.precision.reason.c_str());
  std::fprintf(out, "  trainable params %lld of %lld; warm-up %lld, timed %lld steps\n",
               j["trainable_params"].get<long long>(), j["total_params"].get<long long>(),
               (long long)o.warmup, (long long)o.steps);
  std::fprintf(out, "  step: median %.1f ms (min %.1f, max %.1f)\n", double(j["ms_per_step"]),
               *std::min_element(steps.begin(), steps.end()),
               *std::max_element(steps.begin(), steps.end()));
  std::fprintf(out, "  tokens/s %.0f real, %.0f padded (%.0f real of %.0f per step)\n",
               double(j["tokens_per_s"]), double(j["padded_tokens_per_s"]),
               double(j["real_tokens_per_step"]), double(j["padded_tokens_per_step"]));
  std::fprintf(out, "  model %.1f GFLOP/step: %.1f GFLOP/s = %.0f%% of sgemm %.1f (best %.1f)\n",
               double(j["model_gflop_per_step"]), double(j["model_gflops"]),
               100.0 * double(j["flops_ratio"]), double(j["sgemm_gflops"]),
               double(j["sgemm_gflops_max"]));
  if (!j["bf16_gemm_gflops"].is_null())
    std::fprintf(out, "  bf16 matmul (oneDNN, same shape) %.1f GFLOP/s: model at %.0f%% of it\n",
                 double(j["bf16_gemm_gflops"]), 100.0 * double(j["flops_ratio_bf16_gemm"]));
  std::fprintf(out, "  peak RSS %.0f MiB (%.0f MiB before the steps)\n", double(j["peak_rss_mib"]),
               double(j["rss_before_steps_mib"]));
  if (!o.profile) return;
  const MsTable phases = phase_table(run);
  const double total = phases.back().second;
  auto table = [&](const char* title, const MsTable& rows) {
    std::fprintf(out, "  %s (median ms per step):\n", title);
    for (const auto& [name, ms] : rows)
      std::fprintf(out, "    %-12s %9.1f  %5.1f%%\n", name.c_str(), ms,
                   total > 0 ? 100.0 * ms / total : 0.0);
  };
  table("phases", phases);
  table("op families", family_table(run));
  std::fprintf(out, "  graph nodes %lld, weight-gradient GEMMs %lld in the last step\n",
               (long long)run.records.back().nodes,
               (long long)run.records.back().weight_grad_gemms);
}

}  // namespace ag::bench
