#include "apps/bench/bench_workload.h"

#include <algorithm>

#include "core/errors.h"
#include "core/splitmix64.h"

namespace ag::bench {

namespace {

int64_t gemm(int64_t m, int64_t k, int64_t n) {
  return 2 * m * k * n;
}

}  // namespace

std::vector<Batch> make_batches(const std::string& shape, int64_t n, uint64_t seed) {
  if (shape != "fixed" && shape != "mixed")
    throw Error("make_batches: unknown shape '" + shape + "' (expected fixed or mixed)");
  SplitMix64 rng(seed);
  std::vector<Batch> out;
  out.reserve(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t B = shape == "fixed" ? 16 : 32;
    std::vector<int64_t> lens(size_t(B), 128);
    if (shape == "mixed")
      for (auto& len : lens) len = 8 + int64_t(rng.next() % 57);
    const int64_t T = *std::max_element(lens.begin(), lens.end());
    Batch batch;
    batch.input.input_ids = {{B, T}, std::vector<int32_t>(size_t(B * T), 0)};
    batch.input.attention_mask = {{B, T}, std::vector<int32_t>(size_t(B * T), 0)};
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < lens[b]; ++t) {
        batch.input.input_ids.values[b * T + t] = int32_t(1 + rng.next() % (kVocab - 1));
        batch.input.attention_mask.values[b * T + t] = 1;
      }
      batch.real_tokens += lens[b];
    }
    batch.labels = {{B}, std::vector<int32_t>(size_t(B))};
    for (auto& label : batch.labels.values) label = int32_t(rng.next() % 2);
    out.push_back(std::move(batch));
  }
  return out;
}

int64_t model_flops(const std::string& method, int64_t B, int64_t T, int64_t r) {
  const int64_t D = kDim, F = kHidden, M = B * T;
  const int64_t attn_prod = 2 * B * T * T * D;  // one of QKᵀ or PV, all heads
  const bool train = method != "infer";
  const bool adapters = method == "lora" || method == "dora";
  const bool full = method == "full";
  int64_t fwd = 0, bwd = 0;
  for (int64_t layer = 0; layer < kLayers; ++layer) {
    const bool x_rg = full || (adapters && layer > 0);  // does the layer input require grad?
    fwd += 4 * gemm(M, D, D) + gemm(M, D, F) + gemm(M, F, D) + 2 * attn_prod;
    if (adapters) fwd += 2 * (gemm(M, D, r) + gemm(M, r, D));
    if (method == "dora") fwd += 2 * gemm(D, r, D);  // B·A for the detached weight norm
    if (!train) continue;
    // backward: q, k, v base linears
    const bool q_rg = x_rg || adapters, k_rg = x_rg, v_rg = x_rg || adapters;
    for (int i = 0; i < 3; ++i) {
      if (x_rg) bwd += gemm(M, D, D);  // dX
      if (full) bwd += gemm(M, D, D);  // dW
    }
    if (adapters) {
      for (int i = 0; i < 2; ++i) {      // q and v adapters
        bwd += gemm(M, D, r);            // dA
        if (x_rg) bwd += gemm(M, D, r);  // dX through A
        bwd += 2 * gemm(M, r, D);        // dB and d(A x)
      }
    }
    // attention: S = Q Kᵀ, O = P V
    if (q_rg) bwd += attn_prod;  // dQ
    if (k_rg) bwd += attn_prod;  // dK
    const bool p_rg = q_rg || k_rg;
    if (p_rg) bwd += attn_prod;  // dP
    if (v_rg) bwd += attn_prod;  // dV
    const bool o_rg = p_rg || v_rg;
    // out_lin, lin1, lin2: inputs require grad whenever anything below trains
    const int64_t kn[3][2] = {{D, D}, {D, F}, {F, D}};
    for (const auto& [k, n] : kn) {
      if (o_rg) bwd += gemm(M, k, n);
      if (full) bwd += gemm(M, k, n);
    }
  }
  // head on the B [CLS] rows
  fwd += gemm(B, D, D) + gemm(B, D, kLabels);
  if (train) {
    const int64_t kn[2][2] = {{D, D}, {D, kLabels}};
    for (const auto& [k, n] : kn) {
      bwd += gemm(B, k, n);            // dX
      if (full) bwd += gemm(B, k, n);  // dW
    }
  }
  return fwd + bwd;
}

}  // namespace ag::bench
