#include "nn/optim.h"

#include <cmath>

#include "core/bf16_gemm.h"
#include "core/errors.h"
#include "core/parallel.h"
#include "core/profiler.h"

namespace ag::nn {

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options)
    : groups_(std::move(groups)), options_(options) {
  if (!(options.lr >= 0.0f)) throw Error("AdamW: learning rate must be >= 0");
  if (!(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1))
    throw Error("AdamW: betas must be in [0, 1)");
  for (auto& g : groups_)
    for (auto& p : g.params) {
      m_.push_back(Tensor::zeros(p.shape()));
      v_.push_back(Tensor::zeros(p.shape()));
    }
}

AdamW::AdamW(const std::vector<Tensor>& params, AdamWOptions options)
    : AdamW(std::vector<ParamGroup>{{params, options.weight_decay}}, options) {}

void AdamW::step() {
  ProfileScope profile(OpFamily::kOptimizer);
  ++step_;
  const float lr = options_.lr, b1 = options_.beta1, b2 = options_.beta2, eps = options_.eps;
  const float bias1 = 1.0f - std::pow(b1, float(step_)), bias2 = 1.0f - std::pow(b2, float(step_));
  const float step_size = lr / bias1, bias2_sqrt = std::sqrt(bias2);
  size_t k = 0;
  for (auto& group : groups_) {
    const float decay = 1.0f - lr * group.weight_decay;
    for (auto& p : group.params) {
      Tensor g = p.grad();
      float *pp = p.data(), *pm = m_[k].data(), *pv = v_[k].data();
      ++k;
      if (!g.defined()) continue;
      const float* pg = g.data();
      const int64_t n = p.numel();
#pragma omp parallel for simd if (n > kParallelGrain)
      for (int64_t i = 0; i < n; ++i) {
        pp[i] *= decay;
        pm[i] = b1 * pm[i] + (1.0f - b1) * pg[i];
        pv[i] = b2 * pv[i] + (1.0f - b2) * pg[i] * pg[i];
        pp[i] -= step_size * pm[i] / (std::sqrt(pv[i]) / bias2_sqrt + eps);
      }
      refresh_bf16_copy(p);  // bf16 training: the fp32 master changed, re-round its copy
    }
  }
}

void AdamW::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params) p.zero_grad();
}

float clip_grad_norm(const std::vector<Tensor>& params, float max_norm) {
  double total = 0.0;
  for (auto& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    for (int64_t i = 0; i < g.numel(); ++i) total += double(g.data()[i]) * g.data()[i];
  }
  const float norm = float(std::sqrt(total));
  const float factor = max_norm / (norm + 1e-6f);  // torch's clip_coef
  if (factor < 1.0f)
    for (auto& p : params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      for (int64_t i = 0; i < g.numel(); ++i) g.data()[i] *= factor;
    }
  return norm;
}

float lr_multiplier(int64_t step, int64_t warmup, int64_t total, Decay decay) {
  if (step < warmup) return float(step) / float(std::max<int64_t>(1, warmup));
  if (decay == Decay::kConstant) return 1.0f;
  const double progress = double(step - warmup) / double(std::max<int64_t>(1, total - warmup));
  if (decay == Decay::kLinear) return float(std::max(0.0, 1.0 - progress));
  return float(std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress))));
}

}  // namespace ag::nn
