// Multi-head attention products with heads as strided views.
//
// q is (B, Tq, D), k and v are (B, Tk, D), D = H · dh. Head h of sequence b is the (T, dh)
// matrix that starts at element b·T·D + h·dh with leading dimension D: cblas reads it in place,
// so no head is ever copied into a contiguous (B, H, T, dh) buffer. Each (b, h) pair is one
// small GEMM; the pairs are spread over the OpenMP threads, and OpenBLAS runs single-threaded
// inside an OpenMP parallel region. Tq may be smaller than Tk: the last encoder layer of a
// classifier only needs the first token's query (see models/encoder.cpp).
//
// In bf16 (Precision::kBf16, as torch.autocast runs attention's matmuls) the operands are
// rounded to bf16 and each product is ONE oneDNN matmul over all (b, h) pairs, the heads still
// read in place through strides (core/bf16_batched.h); products accumulate in fp32 and come out
// fp32. The mask, the softmax and its backward stay fp32 in both precisions.
#include <omp.h>

#include <cmath>
#include <limits>

#include "core/autograd.h"
#include "core/bf16_batched.h"
#include "core/errors.h"
#include "core/fast_math.h"
#include "core/ops.h"
#include "core/ops_util.h"
#include "core/profiler.h"

namespace ag {

constexpr OpKind kAttentionProbsOp{"attention_probs", OpFamily::kAttention};
constexpr OpKind kAttentionContextOp{"attention_context", OpFamily::kAttention};
namespace {

// The inputs of an attention_probs node and of an attention_context node, in record() order.
enum class ProbsSlot : size_t { kQuery, kKey };
enum class ContextSlot : size_t { kProbs, kValue };

struct Heads {
  int64_t B, Tq, Tk, D, H, dh;
  int64_t q_head(int64_t b, int64_t h) const { return b * Tq * D + h * dh; }     // into q, ctx
  int64_t k_head(int64_t b, int64_t h) const { return b * Tk * D + h * dh; }     // into k, v
  int64_t p_block(int64_t b, int64_t h) const { return (b * H + h) * Tq * Tk; }  // into probs
  // The same blocks as strided batches, for the batched bf16 products.
  MatrixBatch q_heads() const { return {Tq, dh, Tq * D, dh, D, 1}; }  // of q, ctx (Tq, dh)
  MatrixBatch k_heads() const { return {Tk, dh, Tk * D, dh, D, 1}; }  // of k, v (Tk, dh)
  MatrixBatch p_blocks() const { return {Tq, Tk, H * Tq * Tk, Tq * Tk, Tk, 1}; }  // of probs
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

void check_precision(Precision precision, const char* op) {
  if (precision == Precision::kBf16 && !bf16_gemm_built())
    throw Error(std::string(op) +
                ": bf16 needs oneDNN, and this build has none (install libdnnl-dev and rebuild)");
}

// One (b, h) block of scores (Tq, Tk) in place: masked keys set to the lowest float (as
// transformers' masked_fill), then each row softmaxed.
inline void mask_and_softmax(float* P, const int32_t* key_ok, int64_t Tq, int64_t Tk) {
  constexpr float kLowest = std::numeric_limits<float>::lowest();
  for (int64_t i = 0; i < Tq; ++i) {
    float* row = P + i * Tk;
    // `omp simd reduction`: lets the compiler split the max and the sum over vector lanes
    // (a plain float reduction must keep its order and stays scalar).
    float mx = kLowest;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < Tk; ++j) {
      row[j] = key_ok[j] != 0 ? row[j] : kLowest;
      mx = std::max(mx, row[j]);
    }
    float total = 0.0f;
#pragma omp simd reduction(+ : total)
    for (int64_t j = 0; j < Tk; ++j) total += (row[j] = fast_exp(row[j] - mx));
    const float inv = 1.0f / total;
#pragma omp simd
    for (int64_t j = 0; j < Tk; ++j) row[j] *= inv;
  }
}

// The softmax backward of one (b, h) block: dS = P ⊙ (G − rowsum(G ⊙ P)), G = dL/dP.
inline void softmax_backward(const float* P, const float* G, float* dS, int64_t Tq, int64_t Tk) {
  for (int64_t i = 0; i < Tq; ++i) {
    const float *g = G + i * Tk, *p = P + i * Tk;
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int64_t j = 0; j < Tk; ++j) dot += g[j] * p[j];
#pragma omp simd
    for (int64_t j = 0; j < Tk; ++j) dS[i * Tk + j] = p[j] * (g[j] - dot);
  }
}

// The bf16 operands a backward reads: rounded once in the forward and kept, as torch.autocast
// keeps its bf16 casts for the backward (half the memory of the fp32 values, no second pass).
using SavedBf16 = std::shared_ptr<const Bf16Values>;

// attention_probs' backward in bf16: dS in fp32 block by block (while the block is in cache),
// rounded into one bf16 buffer for all (b, h), then dQ and dK as one batched product each.
void probs_backward_bf16(Node& n, const Heads& s, float scale, const Tensor& P,
                         const Bf16Values* q16, const Bf16Values* k16) {
  GradBuffer dq = n.needs_grad(ProbsSlot::kQuery) ? n.grad_for(ProbsSlot::kQuery) : GradBuffer{};
  GradBuffer dk = n.needs_grad(ProbsSlot::kKey) ? n.grad_for(ProbsSlot::kKey) : GradBuffer{};
  const float *pp = P.data(), *pg = n.grad.data();
  Bf16Values dS16(P.numel());
  Tensor scratch = Tensor::empty({omp_get_max_threads(), s.Tq, s.Tk});  // dS per thread
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h) {
      float* dS = scratch.data() + omp_get_thread_num() * s.Tq * s.Tk;
      softmax_backward(pp + s.p_block(b, h), pg + s.p_block(b, h), dS, s.Tq, s.Tk);
      float_to_bf16(dS, dS16.data() + s.p_block(b, h), s.Tq * s.Tk);
    }
  if (dq.data)
    bf16_batched_product(s.B, s.H, scale, dS16.data(), s.p_blocks(), k16->data(), s.k_heads(),
                         dq.beta(), dq.data, s.q_heads());
  if (dk.data)
    bf16_batched_product(s.B, s.H, scale, dS16.data(), s.p_blocks().transposed(), q16->data(),
                         s.q_heads(), dk.beta(), dk.data, s.k_heads());
}

// attention_context's backward in bf16: dP = dC Vᵀ and dV = Pᵀ dC, one batched product each.
void context_backward_bf16(Node& n, const Heads& s, const Bf16Values* p16, const Bf16Values* v16) {
  GradBuffer dp =
      n.needs_grad(ContextSlot::kProbs) ? n.grad_for(ContextSlot::kProbs) : GradBuffer{};
  GradBuffer dv =
      n.needs_grad(ContextSlot::kValue) ? n.grad_for(ContextSlot::kValue) : GradBuffer{};
  const Bf16Values dc16(n.grad.data(), n.grad.numel());
  if (dp.data)
    bf16_batched_product(s.B, s.H, 1.0f, dc16.data(), s.q_heads(), v16->data(),
                         s.k_heads().transposed(), dp.beta(), dp.data, s.p_blocks());
  if (dv.data)
    bf16_batched_product(s.B, s.H, 1.0f, p16->data(), s.p_blocks().transposed(), dc16.data(),
                         s.q_heads(), dv.beta(), dv.data, s.k_heads());
}

}  // namespace

// probs (B, H, Tq, Tk): for each (b, h), S = scale · Q Kᵀ (sgemm NT, lda = ldb = D), then
// masked keys are set to the lowest float and rows softmaxed. In bf16, S for every (b, h) is one
// batched product into probs, then the mask and softmax run over it.
// Backward, with P the saved probs and dP the incoming gradient:
//   dS = P ⊙ (dP − rowsum(dP ⊙ P))          (softmax backward, fp32)
//   dQ += scale · dS K,  dK += scale · dSᵀ Q  (sgemm NN and TN into the strided head blocks)
Tensor attention_probs(const Tensor& q, const Tensor& k, const Indices& key_mask, int64_t heads,
                       float scale, Precision precision) {
  ProfileScope profile(kAttentionProbsOp);
  const Heads s = check_heads(q, k, heads, "attention_probs");
  if (key_mask.numel() != s.B * s.Tk)
    throw ShapeError("attention_probs: key mask has " + std::to_string(key_mask.numel()) +
                     " entries, expected B·T = " + std::to_string(s.B * s.Tk));
  check_precision(precision, "attention_probs");
  const bool bf16 = precision == Precision::kBf16;
  Tensor probs = Tensor::empty({s.B, s.H, s.Tq, s.Tk});
  const float *pq = q.data(), *pk = k.data();
  float* pp = probs.data();
  const int32_t* mask = key_mask.values.data();
  SavedBf16 q16, k16;
  if (bf16) {
    q16 = std::make_shared<const Bf16Values>(pq, q.numel());
    k16 = std::make_shared<const Bf16Values>(pk, k.numel());
    bf16_batched_product(s.B, s.H, scale, q16->data(), s.q_heads(), k16->data(),
                         s.k_heads().transposed(), 0.0f, pp, s.p_blocks());
  }
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < s.B; ++b) {
    for (int64_t h = 0; h < s.H; ++h) {
      float* P = pp + s.p_block(b, h);
      if (!bf16)  // S for this (b, h) while its block is in cache
        gemm_ld(Trans::kNo, Trans::kYes, s.Tq, s.Tk, s.dh, scale, pq + s.q_head(b, h), s.D,
                pk + s.k_head(b, h), s.D, 0.0f, P, s.Tk);
      mask_and_softmax(P, mask + b * s.Tk, s.Tq, s.Tk);
    }
  }
  auto node = record(kAttentionProbsOp, {q, k}, probs);
  if (node && bf16) {  // dQ reads K, dK reads Q: each kept only if its gradient is wanted
    node->backward_fn = [q16 = node->needs_grad(ProbsSlot::kKey) ? q16 : nullptr,
                         k16 = node->needs_grad(ProbsSlot::kQuery) ? k16 : nullptr,
                         P = probs.detach(), s, scale](Node& n) {
      probs_backward_bf16(n, s, scale, P, q16.get(), k16.get());
    };
  } else if (node) {
    node->backward_fn = [q, k, P = probs.detach(), s, scale](Node& n) {
      GradBuffer dq =
          n.needs_grad(ProbsSlot::kQuery) ? n.grad_for(ProbsSlot::kQuery) : GradBuffer{};
      GradBuffer dk = n.needs_grad(ProbsSlot::kKey) ? n.grad_for(ProbsSlot::kKey) : GradBuffer{};
      const float *pq = q.data(), *pk = k.data(), *pp = P.data(), *pg = n.grad.data();
      Tensor scratch = Tensor::empty({omp_get_max_threads(), s.Tq, s.Tk});  // dS per thread
#pragma omp parallel for collapse(2)
      for (int64_t b = 0; b < s.B; ++b) {
        for (int64_t h = 0; h < s.H; ++h) {
          float* dS = scratch.data() + omp_get_thread_num() * s.Tq * s.Tk;
          softmax_backward(pp + s.p_block(b, h), pg + s.p_block(b, h), dS, s.Tq, s.Tk);
          if (dq.data)
            gemm_ld(Trans::kNo, Trans::kNo, s.Tq, s.dh, s.Tk, scale, dS, s.Tk, pk + s.k_head(b, h),
                    s.D, dq.beta(), dq.data + s.q_head(b, h), s.D);
          if (dk.data)
            gemm_ld(Trans::kYes, Trans::kNo, s.Tk, s.dh, s.Tq, scale, dS, s.Tk, pq + s.q_head(b, h),
                    s.D, dk.beta(), dk.data + s.k_head(b, h), s.D);
        }
      }
    };
  }
  return probs;
}

// context (B, Tq, D): for each (b, h), C_h = P V_h (sgemm NN; V and C strided with ld = D).
// Backward: dP += dC_h V_hᵀ (sgemm NT), dV_h += Pᵀ dC_h (sgemm TN). In bf16 each of the three
// is one batched product over all (b, h).
Tensor attention_context(const Tensor& probs, const Tensor& v, int64_t heads, Precision precision) {
  ProfileScope profile(kAttentionContextOp);
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
  check_precision(precision, "attention_context");
  const bool bf16 = precision == Precision::kBf16;
  Tensor ctx = Tensor::empty({s.B, s.Tq, s.D});
  const float *pp = probs.data(), *pv = v.data();
  float* pc = ctx.data();
  SavedBf16 p16, v16;
  if (bf16) {
    p16 = std::make_shared<const Bf16Values>(pp, probs.numel());
    v16 = std::make_shared<const Bf16Values>(pv, v.numel());
    bf16_batched_product(s.B, s.H, 1.0f, p16->data(), s.p_blocks(), v16->data(), s.k_heads(), 0.0f,
                         pc, s.q_heads());
  } else {
#pragma omp parallel for collapse(2)
    for (int64_t b = 0; b < s.B; ++b)
      for (int64_t h = 0; h < s.H; ++h)
        gemm_ld(Trans::kNo, Trans::kNo, s.Tq, s.dh, s.Tk, 1.0f, pp + s.p_block(b, h), s.Tk,
                pv + s.k_head(b, h), s.D, 0.0f, pc + s.q_head(b, h), s.D);
  }
  auto node = record(kAttentionContextOp, {probs, v}, ctx);
  if (node && bf16) {  // dP reads V, dV reads P: each kept only if its gradient is wanted
    node->backward_fn = [p16 = node->needs_grad(ContextSlot::kValue) ? p16 : nullptr,
                         v16 = node->needs_grad(ContextSlot::kProbs) ? v16 : nullptr,
                         s](Node& n) { context_backward_bf16(n, s, p16.get(), v16.get()); };
  } else if (node) {
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
            gemm_ld(Trans::kNo, Trans::kYes, s.Tq, s.Tk, s.dh, 1.0f, pg + s.q_head(b, h), s.D,
                    saved_v.data() + s.k_head(b, h), s.D, dp.beta(), dp.data + s.p_block(b, h),
                    s.Tk);
          if (dv.data)
            gemm_ld(Trans::kYes, Trans::kNo, s.Tk, s.dh, s.Tq, 1.0f,
                    saved_p.data() + s.p_block(b, h), s.Tk, pg + s.q_head(b, h), s.D, dv.beta(),
                    dv.data + s.k_head(b, h), s.D);
        }
    };
  }
  return ctx;
}

}  // namespace ag
