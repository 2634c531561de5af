// Multi-head attention products with heads as strided views.
//
// q, k, v are (B, T, D) with D = H · dh. Head h of sequence b is the (T, dh) matrix that starts
// at element b·T·D + h·dh and has leading dimension D: cblas reads it in place, so no head is
// ever copied into a contiguous (B, H, T, dh) buffer. Each (b, h) pair is one small GEMM; the
// pairs are spread over the OpenMP threads and each GEMM runs single-threaded inside them.
#include <cblas.h>

#include <cmath>
#include <limits>

#include "core/autograd.h"
#include "core/errors.h"
#include "core/ops.h"
#include "core/ops_util.h"

namespace ag {
namespace {

struct Heads {
  int64_t B, T, D, H, dh;
};

Heads check_heads(const Tensor& q, int64_t heads, const char* op) {
  if (q.dim() != 3 || heads <= 0 || q.size(2) % heads != 0)
    throw ShapeError(std::string(op) + ": need (B, T, D) with D divisible by " +
                     std::to_string(heads) + " heads, got " + to_string(q.shape()));
  return {q.size(0), q.size(1), q.size(2), heads, q.size(2) / heads};
}

}  // namespace

// probs (B, H, T, T): for each (b, h), S = scale · Q Kᵀ (sgemm NT, lda = ldb = D), then masked
// keys are set to the lowest float (as transformers' masked_fill) and each row is softmaxed.
// Backward, with P the saved probs and dP the incoming gradient:
//   dS = P ⊙ (dP − rowsum(dP ⊙ P))          (softmax backward)
//   dQ += scale · dS K,  dK += scale · dSᵀ Q  (sgemm NN and TN into the strided head blocks)
Tensor attention_probs(const Tensor& q, const Tensor& k, const Indices& key_mask, int64_t heads,
                       float scale) {
  const Heads s = check_heads(q, heads, "attention_probs");
  if (k.shape() != q.shape())
    throw ShapeError("attention_probs: keys " + to_string(k.shape()) + " differ from queries " +
                     to_string(q.shape()));
  if (key_mask.numel() != s.B * s.T)
    throw ShapeError("attention_probs: key mask has " + std::to_string(key_mask.numel()) +
                     " entries, expected B·T = " + std::to_string(s.B * s.T));
  Tensor probs = Tensor::empty({s.B, s.H, s.T, s.T});
  const float *pq = q.data(), *pk = k.data();
  float* pp = probs.data();
  const int32_t* mask = key_mask.values.data();
  constexpr float kLowest = std::numeric_limits<float>::lowest();
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < s.B; ++b) {
    for (int64_t h = 0; h < s.H; ++h) {
      const int64_t head = b * s.T * s.D + h * s.dh;
      float* P = pp + (b * s.H + h) * s.T * s.T;
      gemm_ld(false, true, s.T, s.T, s.dh, scale, pq + head, s.D, pk + head, s.D, 0.0f, P, s.T);
      for (int64_t i = 0; i < s.T; ++i) {
        float* row = P + i * s.T;
        float mx = kLowest;
        for (int64_t j = 0; j < s.T; ++j) {
          if (mask[b * s.T + j] == 0) row[j] = kLowest;
          mx = std::max(mx, row[j]);
        }
        float total = 0.0f;
        for (int64_t j = 0; j < s.T; ++j) total += (row[j] = std::exp(row[j] - mx));
        const float inv = 1.0f / total;
        for (int64_t j = 0; j < s.T; ++j) row[j] *= inv;
      }
    }
  }
  if (auto node = record("attention_probs", {q, k}, probs)) {
    node->backward_fn = [q, k, P = probs.detach(), s, scale](Node& n) {
      GradBuffer dq = n.needs_grad(0) ? n.grad_for(0) : GradBuffer{};
      GradBuffer dk = n.needs_grad(1) ? n.grad_for(1) : GradBuffer{};
      const float *pq = q.data(), *pk = k.data(), *pp = P.data(), *pg = n.grad.data();
      // dS, one (T, T) scratch per (b, h), computed inside the loop that uses it.
      Tensor scratch = Tensor::empty({s.B * s.H, s.T, s.T});
      float* pds_all = scratch.data();
#pragma omp parallel for collapse(2)
      for (int64_t b = 0; b < s.B; ++b) {
        for (int64_t h = 0; h < s.H; ++h) {
          const int64_t bh = b * s.H + h, head = b * s.T * s.D + h * s.dh;
          const float* Pbh = pp + bh * s.T * s.T;
          const float* G = pg + bh * s.T * s.T;
          float* dS = pds_all + bh * s.T * s.T;
          for (int64_t i = 0; i < s.T; ++i) {
            float dot = 0.0f;
            for (int64_t j = 0; j < s.T; ++j) dot += G[i * s.T + j] * Pbh[i * s.T + j];
            for (int64_t j = 0; j < s.T; ++j)
              dS[i * s.T + j] = Pbh[i * s.T + j] * (G[i * s.T + j] - dot);
          }
          if (dq.data)
            gemm_ld(false, false, s.T, s.dh, s.T, scale, dS, s.T, pk + head, s.D, dq.beta(),
                    dq.data + head, s.D);
          if (dk.data)
            gemm_ld(true, false, s.T, s.dh, s.T, scale, dS, s.T, pq + head, s.D, dk.beta(),
                    dk.data + head, s.D);
        }
      }
    };
  }
  return probs;
}

// context (B, T, D): for each (b, h), C_h = P V_h (sgemm NN; V and C strided with ld = D).
// Backward: dP += dC_h V_hᵀ (sgemm NT), dV_h += Pᵀ dC_h (sgemm TN).
Tensor attention_context(const Tensor& probs, const Tensor& v, int64_t heads) {
  const Heads s = check_heads(v, heads, "attention_context");
  if (probs.shape() != Shape{s.B, s.H, s.T, s.T})
    throw ShapeError("attention_context: probs " + to_string(probs.shape()) +
                     " do not match values " + to_string(v.shape()) + " with " +
                     std::to_string(heads) + " heads");
  Tensor ctx = Tensor::empty(v.shape());
  const float *pp = probs.data(), *pv = v.data();
  float* pc = ctx.data();
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h) {
      const int64_t head = b * s.T * s.D + h * s.dh;
      gemm_ld(false, false, s.T, s.dh, s.T, 1.0f, pp + (b * s.H + h) * s.T * s.T, s.T, pv + head,
              s.D, 0.0f, pc + head, s.D);
    }
  if (auto node = record("attention_context", {probs, v}, ctx)) {
    Tensor saved_p = node->needs_grad(1) ? probs : Tensor();
    Tensor saved_v = node->needs_grad(0) ? v : Tensor();
    node->backward_fn = [saved_p, saved_v, s](Node& n) {
      GradBuffer dp = n.needs_grad(0) ? n.grad_for(0) : GradBuffer{};
      GradBuffer dv = n.needs_grad(1) ? n.grad_for(1) : GradBuffer{};
      const float* pg = n.grad.data();
#pragma omp parallel for collapse(2)
      for (int64_t b = 0; b < s.B; ++b)
        for (int64_t h = 0; h < s.H; ++h) {
          const int64_t head = b * s.T * s.D + h * s.dh, bh = (b * s.H + h) * s.T * s.T;
          if (dp.data)
            gemm_ld(false, true, s.T, s.T, s.dh, 1.0f, pg + head, s.D, saved_v.data() + head, s.D,
                    dp.beta(), dp.data + bh, s.T);
          if (dv.data)
            gemm_ld(true, false, s.T, s.dh, s.T, 1.0f, saved_p.data() + bh, s.T, pg + head, s.D,
                    dv.beta(), dv.data + head, s.D);
        }
    };
  }
  return ctx;
}

}  // namespace ag
