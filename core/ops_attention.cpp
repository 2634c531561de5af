// Multi-head attention products with heads as strided views.
//
// q is (B, Tq, D), k and v are (B, Tk, D), D = H · dh. Head h of sequence b is the (T, dh)
// matrix that starts at element b·T·D + h·dh with leading dimension D: cblas reads it in place,
// so no head is ever copied into a contiguous (B, H, T, dh) buffer. Each (b, h) pair is one
// small GEMM; the pairs are spread over the OpenMP threads, and OpenBLAS runs single-threaded
// inside an OpenMP parallel region. Tq may be smaller than Tk: the last encoder layer of a
// classifier only needs the first token's query (see models/encoder.cpp).
#include <omp.h>

#include <cmath>
#include <limits>

#include "core/autograd.h"
#include "core/errors.h"
#include "core/fast_math.h"
#include "core/ops.h"
#include "core/ops_util.h"
#include "core/profiler.h"

namespace ag {
namespace {

// The inputs of an attention_probs node and of an attention_context node, in record() order.
enum class ProbsSlot : size_t { kQuery, kKey };
enum class ContextSlot : size_t { kProbs, kValue };

struct Heads {
  int64_t B, Tq, Tk, D, H, dh;
  int64_t q_head(int64_t b, int64_t h) const { return b * Tq * D + h * dh; }     // into q, ctx
  int64_t k_head(int64_t b, int64_t h) const { return b * Tk * D + h * dh; }     // into k, v
  int64_t p_block(int64_t b, int64_t h) const { return (b * H + h) * Tq * Tk; }  // into probs
};

Heads check_heads(const Tensor& q, const Tensor& kv, int64_t heads, const char* op) {
  const bool ok = q.dim() == 3 && kv.dim() == 3 && heads > 0 && q.size(2) % heads == 0 &&
                  q.size(0) == kv.size(0) && q.size(2) == kv.size(2);
  if (!ok)
    throw ShapeError(std::string(op) + ": need (B, T, D) inputs with the same B and D, D " +
                     "divisible by " + std::to_string(heads) + " heads; got " +
                     to_string(q.shape()) + " and " + to_string(kv.shape()));
  return {q.size(0), q.size(1), kv.size(1), q.size(2), heads, q.size(2) / heads};
}

}  // namespace

// probs (B, H, Tq, Tk): for each (b, h), S = scale · Q Kᵀ (sgemm NT, lda = ldb = D), then
// masked keys are set to the lowest float (as transformers' masked_fill) and rows softmaxed.
// Backward, with P the saved probs and dP the incoming gradient:
//   dS = P ⊙ (dP − rowsum(dP ⊙ P))          (softmax backward, in a per-thread scratch)
//   dQ += scale · dS K,  dK += scale · dSᵀ Q  (sgemm NN and TN into the strided head blocks)
Tensor attention_probs(const Tensor& q, const Tensor& k, const Indices& key_mask, int64_t heads,
                       float scale) {
  ProfileScope profile(OpFamily::kAttention);
  const Heads s = check_heads(q, k, heads, "attention_probs");
  if (key_mask.numel() != s.B * s.Tk)
    throw ShapeError("attention_probs: key mask has " + std::to_string(key_mask.numel()) +
                     " entries, expected B·T = " + std::to_string(s.B * s.Tk));
  Tensor probs = Tensor::empty({s.B, s.H, s.Tq, s.Tk});
  const float *pq = q.data(), *pk = k.data();
  float* pp = probs.data();
  const int32_t* mask = key_mask.values.data();
  constexpr float kLowest = std::numeric_limits<float>::lowest();
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < s.B; ++b) {
    for (int64_t h = 0; h < s.H; ++h) {
      float* P = pp + s.p_block(b, h);
      gemm_ld(false, true, s.Tq, s.Tk, s.dh, scale, pq + s.q_head(b, h), s.D, pk + s.k_head(b, h),
              s.D, 0.0f, P, s.Tk);
      const int32_t* key_ok = mask + b * s.Tk;
      for (int64_t i = 0; i < s.Tq; ++i) {
        float* row = P + i * s.Tk;
        // `omp simd reduction`: lets the compiler split the max and the sum over vector lanes
        // (a plain float reduction must keep its order and stays scalar).
        float mx = kLowest;
#pragma omp simd reduction(max : mx)
        for (int64_t j = 0; j < s.Tk; ++j) {
          row[j] = key_ok[j] != 0 ? row[j] : kLowest;
          mx = std::max(mx, row[j]);
        }
        float total = 0.0f;
#pragma omp simd reduction(+ : total)
        for (int64_t j = 0; j < s.Tk; ++j) total += (row[j] = fast_exp(row[j] - mx));
        const float inv = 1.0f / total;
#pragma omp simd
        for (int64_t j = 0; j < s.Tk; ++j) row[j] *= inv;
      }
    }
  }
  if (auto node = record("attention_probs", {q, k}, probs)) {
    node->backward_fn = [q, k, P = probs.detach(), s, scale](Node& n) {
      GradBuffer dq =
          n.needs_grad(ProbsSlot::kQuery) ? n.grad_for(ProbsSlot::kQuery) : GradBuffer{};
      GradBuffer dk = n.needs_grad(ProbsSlot::kKey) ? n.grad_for(ProbsSlot::kKey) : GradBuffer{};
      const float *pq = q.data(), *pk = k.data(), *pp = P.data(), *pg = n.grad.data();
      Tensor scratch = Tensor::empty({omp_get_max_threads(), s.Tq, s.Tk});  // dS per thread
#pragma omp parallel for collapse(2)
      for (int64_t b = 0; b < s.B; ++b) {
        for (int64_t h = 0; h < s.H; ++h) {
          const float* Pbh = pp + s.p_block(b, h);
          const float* G = pg + s.p_block(b, h);
          float* dS = scratch.data() + omp_get_thread_num() * s.Tq * s.Tk;
          for (int64_t i = 0; i < s.Tq; ++i) {
            const float *g = G + i * s.Tk, *p = Pbh + i * s.Tk;
            float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
            for (int64_t j = 0; j < s.Tk; ++j) dot += g[j] * p[j];
#pragma omp simd
            for (int64_t j = 0; j < s.Tk; ++j) dS[i * s.Tk + j] = p[j] * (g[j] - dot);
          }
          if (dq.data)
            gemm_ld(false, false, s.Tq, s.dh, s.Tk, scale, dS, s.Tk, pk + s.k_head(b, h), s.D,
                    dq.beta(), dq.data + s.q_head(b, h), s.D);
          if (dk.data)
            gemm_ld(true, false, s.Tk, s.dh, s.Tq, scale, dS, s.Tk, pq + s.q_head(b, h), s.D,
                    dk.beta(), dk.data + s.k_head(b, h), s.D);
        }
      }
    };
  }
  return probs;
}

// context (B, Tq, D): for each (b, h), C_h = P V_h (sgemm NN; V and C strided with ld = D).
// Backward: dP += dC_h V_hᵀ (sgemm NT), dV_h += Pᵀ dC_h (sgemm TN).
Tensor attention_context(const Tensor& probs, const Tensor& v, int64_t heads) {
  ProfileScope profile(OpFamily::kAttention);
  if (probs.dim() != 4 || v.dim() != 3)
    throw ShapeError("attention_context: probs " + to_string(probs.shape()) + " must be " +
                     "(B, H, Tq, Tk) and values (B, Tk, D), got values " + to_string(v.shape()));
  const int64_t Tq = probs.size(2);
  const Heads s =
      check_heads(Tensor::empty({v.size(0), Tq, v.size(2)}), v, heads, "attention_context");
  if (probs.shape() != Shape{s.B, s.H, s.Tq, s.Tk})
    throw ShapeError("attention_context: probs " + to_string(probs.shape()) +
                     " do not match values " + to_string(v.shape()) + " with " +
                     std::to_string(heads) + " heads");
  Tensor ctx = Tensor::empty({s.B, s.Tq, s.D});
  const float *pp = probs.data(), *pv = v.data();
  float* pc = ctx.data();
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h)
      gemm_ld(false, false, s.Tq, s.dh, s.Tk, 1.0f, pp + s.p_block(b, h), s.Tk, pv + s.k_head(b, h),
              s.D, 0.0f, pc + s.q_head(b, h), s.D);
  if (auto node = record("attention_context", {probs, v}, ctx)) {
    Tensor saved_p = node->needs_grad(ContextSlot::kValue) ? probs : Tensor();
    Tensor saved_v = node->needs_grad(ContextSlot::kProbs) ? v : Tensor();
    node->backward_fn = [saved_p, saved_v, s](Node& n) {
      GradBuffer dp =
          n.needs_grad(ContextSlot::kProbs) ? n.grad_for(ContextSlot::kProbs) : GradBuffer{};
      GradBuffer dv =
          n.needs_grad(ContextSlot::kValue) ? n.grad_for(ContextSlot::kValue) : GradBuffer{};
      const float* pg = n.grad.data();
#pragma omp parallel for collapse(2)
      for (int64_t b = 0; b < s.B; ++b)
        for (int64_t h = 0; h < s.H; ++h) {
          if (dp.data)
            gemm_ld(false, true, s.Tq, s.Tk, s.dh, 1.0f, pg + s.q_head(b, h), s.D,
                    saved_v.data() + s.k_head(b, h), s.D, dp.beta(), dp.data + s.p_block(b, h),
                    s.Tk);
          if (dv.data)
            gemm_ld(true, false, s.Tk, s.dh, s.Tq, 1.0f, saved_p.data() + s.p_block(b, h), s.Tk,
                    pg + s.q_head(b, h), s.D, dv.beta(), dv.data + s.k_head(b, h), s.D);
        }
    };
  }
  return ctx;
}

}  // namespace ag
