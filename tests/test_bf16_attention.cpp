// Attention products in bf16 (Precision::kBf16): attention_probs and attention_context, each
// product one batched oneDNN matmul over strided heads (core/bf16_batched.h).
//
// The reference is the one of test_bf16.cpp: each product computed in double from its operands
// rounded to bf16 (float_to_bf16). oneDNN multiplies bf16 exactly and accumulates in fp32, so a
// product of K terms may differ from that reference by fp32 accumulation, K·2⁻²⁴·Σ|a b| (2K
// for blocked partial sums, as test_bf16.cpp allows), plus one fp32 rounding (2⁻²⁴ of the
// result) for the output scale and one for the sum post-op that adds an existing gradient:
//   |C − (α Σ round(a) round(b) + β C₀)| <= (2K + 2)·2⁻²⁴·(|α|·Σ|round(a) round(b)| + |C₀|),
// with Σ|round(a) round(b)| <= (1 + 2⁻⁸)² Σ|a b| <= 1.01 Σ|a b|.
//
// attention_probs hides its score product S behind the softmax, and its backward products
// behind the fp32 softmax backward dS. Those are tested with values for which the fp32 steps
// are exact, so that the bf16 products are the only rounding: scores from multiples of 2⁻³
// (exact in any summation order), and uniform probabilities 2⁻ᵐ with gradients in multiples of
// 2⁻⁴ (an exact dS). The generic batched product is tested on general values for all six
// attention layouts.
#include <cmath>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/bf16_batched.h"
#include "core/errors.h"
#include "core/ops.h"
#include "fixture.h"
#include "gradcheck.h"
#include "models/pretrained.h"
#include "nn/layers.h"

using ag::Indices;
using ag::MatrixBatch;
using ag::Precision;
using ag::Tensor;

namespace {

constexpr double kUnit = 1.0 / 16777216.0;  // 2⁻²⁴, fp32's unit roundoff

std::vector<double> rounded(const float* values, int64_t n) {
  std::vector<ag::bf16_bits> bits(n);
  ag::float_to_bf16(values, bits.data(), n);
  std::vector<double> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = ag::bf16_to_float(bits[i]);
  return out;
}

int64_t at(const MatrixBatch& m, int64_t b, int64_t h, int64_t i, int64_t j) {
  return b * m.batch_stride + h * m.head_stride + i * m.row_stride + j * m.col_stride;
}

// alpha · round(A) round(B) for every (b, h), in double, and alpha · Σ|a b| beside it; both
// indexed like C (the offsets `at` gives for c_layout).
struct Reference {
  std::vector<double> value, magnitude;
};

Reference rounded_product(int64_t B, int64_t H, double alpha, const float* a, int64_t a_size,
                          const MatrixBatch& al, const float* b, int64_t b_size,
                          const MatrixBatch& bl, int64_t c_size, const MatrixBatch& cl) {
  const std::vector<double> a16 = rounded(a, a_size), b16 = rounded(b, b_size);
  Reference r{std::vector<double>(c_size, 0.0), std::vector<double>(c_size, 0.0)};
  for (int64_t bi = 0; bi < B; ++bi)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < cl.rows; ++i)
        for (int64_t j = 0; j < cl.cols; ++j) {
          double sum = 0.0, magnitude = 0.0;
          for (int64_t k = 0; k < al.cols; ++k) {
            const int64_t ia = at(al, bi, h, i, k), ib = at(bl, bi, h, k, j);
            sum += a16[ia] * b16[ib];
            magnitude += std::abs(double(a[ia]) * double(b[ib]));
          }
          r.value[at(cl, bi, h, i, j)] = alpha * sum;
          r.magnitude[at(cl, bi, h, i, j)] = std::abs(alpha) * magnitude;
        }
  return r;
}

// Checks c (fp32) against `expected` = the reference (+ the gradient it was added to), the
// bound as in the header comment; `existing` holds |C₀| per element (zero when β = 0).
void check_within_accumulation(const float* c, const std::vector<double>& expected,
                               const std::vector<double>& magnitude,
                               const std::vector<double>& existing, int64_t K) {
  const double per_unit = (2.0 * double(K) + 2.0) * kUnit;
  int64_t outside = 0;
  double largest = 0.0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double error = std::abs(double(c[i]) - expected[i]);
    const double bound = per_unit * (1.01 * magnitude[i] + existing[i]) + 1e-30;
    outside += error > bound;
    largest = std::max(largest, error / bound);
  }
  INFO("largest error / bound " << largest);
  CHECK(outside == 0);
}

struct Heads {  // the layouts of ops_attention.cpp, written out again
  int64_t B, Tq, Tk, D, H, dh;
  MatrixBatch q_heads() const { return {Tq, dh, Tq * D, dh, D, 1}; }
  MatrixBatch k_heads() const { return {Tk, dh, Tk * D, dh, D, 1}; }
  MatrixBatch p_blocks() const { return {Tq, Tk, H * Tq * Tk, Tq * Tk, Tk, 1}; }
};

Tensor multiples_of(const ag::Shape& shape, double step, int64_t most, uint64_t seed) {
  Tensor t = gradcheck::random_tensor(shape, seed, -1.0f, 1.0f);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data()[i] = float(std::round(t.data()[i] * double(most)) * step);
  return t;
}

std::vector<double> doubled(std::vector<double> v) {
  for (double& x : v) x *= 2.0;
  return v;
}

}  // namespace

TEST_CASE("bf16 batched products over strided heads: the six attention layouts") {
  REQUIRE(ag::bf16_gemm_built());
  // Tq < Tk (the first-token-only layer), dh 16, three heads, two sequences.
  const Heads s{2, 5, 11, 48, 3, 16};
  const int64_t act_q = s.B * s.Tq * s.D, act_k = s.B * s.Tk * s.D,
                blocks = s.B * s.H * s.Tq * s.Tk;
  const float alpha = 1.0f / std::sqrt(16.0f + 1.0f);  // not a power of two
  const Tensor q = gradcheck::random_tensor({act_q}, 1), k = gradcheck::random_tensor({act_k}, 2);
  const Tensor p = gradcheck::random_tensor({blocks}, 3);
  struct Case {
    const char* name;
    float alpha;
    const Tensor &a, &b;
    MatrixBatch al, bl, cl;
    int64_t c_size;
    bool accumulate;
  };
  const Case cases[] = {
      {"S = alpha Q Kt", alpha, q, k, s.q_heads(), s.k_heads().transposed(), s.p_blocks(), blocks,
       false},
      {"C = P V", 1.0f, p, k, s.p_blocks(), s.k_heads(), s.q_heads(), act_q, false},
      {"dP += dC Vt", 1.0f, q, k, s.q_heads(), s.k_heads().transposed(), s.p_blocks(), blocks,
       true},
      {"dV += Pt dC", 1.0f, p, q, s.p_blocks().transposed(), s.q_heads(), s.k_heads(), act_k, true},
      {"dQ += alpha dS K", alpha, p, k, s.p_blocks(), s.k_heads(), s.q_heads(), act_q, true},
      {"dK = alpha dSt Q", alpha, p, q, s.p_blocks().transposed(), s.q_heads(), s.k_heads(), act_k,
       false},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const ag::Bf16Values a16(c.a.data(), c.a.numel()), b16(c.b.data(), c.b.numel());
    Tensor out = gradcheck::random_tensor({c.c_size}, 4);  // the existing gradient C₀
    std::vector<double> expected(c.c_size, 0.0), existing(c.c_size, 0.0);
    for (int64_t i = 0; i < c.c_size && c.accumulate; ++i)
      expected[i] = existing[i] = out.data()[i];
    for (double& e : existing) e = std::abs(e);
    ag::bf16_batched_product(s.B, s.H, c.alpha, a16.data(), c.al, b16.data(), c.bl,
                             c.accumulate ? 1.0f : 0.0f, out.data(), c.cl);
    const Reference r = rounded_product(s.B, s.H, c.alpha, c.a.data(), c.a.numel(), c.al,
                                        c.b.data(), c.b.numel(), c.bl, c.c_size, c.cl);
    for (int64_t i = 0; i < c.c_size; ++i) expected[i] += r.value[i];
    check_within_accumulation(out.data(), expected, r.magnitude, existing, c.al.cols);
  }
  // A shape that does not chain is refused.
  const ag::Bf16Values a16(q.data(), q.numel());
  CHECK_THROWS_AS(ag::bf16_batched_product(s.B, s.H, 1.0f, a16.data(), s.q_heads(), a16.data(),
                                           s.q_heads(), 0.0f, nullptr, s.p_blocks()),
                  ag::ShapeError);
}

TEST_CASE("attention_context in bf16: C, dP and dV from bf16-rounded operands, accumulated") {
  REQUIRE(ag::bf16_gemm_built());
  for (int64_t Tq : {int64_t(1), int64_t(4)}) {  // the first token's query, and several
    INFO("Tq = " << Tq);
    const Heads s{2, Tq, 9, 24, 2, 12};
    Tensor p = gradcheck::random_tensor({s.B, s.H, s.Tq, s.Tk}, 10, 0.0f, 1.0f);
    Tensor v = gradcheck::random_tensor({s.B, s.Tk, s.D}, 11);
    p.set_requires_grad(true), v.set_requires_grad(true);
    // Both inputs feed two context ops: the second backward adds into the first's gradients
    // (oneDNN's sum post-op).
    Tensor ctx = ag::attention_context(p, v, s.H, Precision::kBf16);
    Tensor twice = ag::add(ctx, ag::attention_context(p, v, s.H, Precision::kBf16));
    Tensor dc = gradcheck::random_tensor({s.B, s.Tq, s.D}, 12);
    twice.backward(dc);

    const std::vector<double> none(ctx.numel(), 0.0);
    Reference c = rounded_product(s.B, s.H, 1.0, p.data(), p.numel(), s.p_blocks(), v.data(),
                                  v.numel(), s.k_heads(), ctx.numel(), s.q_heads());
    check_within_accumulation(ctx.data(), c.value, c.magnitude, none, s.Tk);

    // dP = 2 · dC Vᵀ and dV = 2 · Pᵀ dC: two products of K terms each and their fp32 sum,
    // within the bound for K with doubled magnitudes.
    Reference dp = rounded_product(s.B, s.H, 1.0, dc.data(), dc.numel(), s.q_heads(), v.data(),
                                   v.numel(), s.k_heads().transposed(), p.numel(), s.p_blocks());
    check_within_accumulation(p.grad().data(), doubled(dp.value), doubled(dp.magnitude),
                              std::vector<double>(p.numel(), 0.0), s.dh);
    Reference dv = rounded_product(s.B, s.H, 1.0, p.data(), p.numel(), s.p_blocks().transposed(),
                                   dc.data(), dc.numel(), s.q_heads(), v.numel(), s.k_heads());
    check_within_accumulation(v.grad().data(), doubled(dv.value), doubled(dv.magnitude),
                              std::vector<double>(v.numel(), 0.0), s.Tq);
  }
}

TEST_CASE("attention_probs in bf16: exactly computable scores give fp32's probabilities") {
  REQUIRE(ag::bf16_gemm_built());
  // q, k multiples of 2⁻³ in [−1, 1] are bf16 values; their products are multiples of 2⁻⁶ and
  // a head's 16-term sum stays below 2⁴: exact in fp32 in any order, and so is scale 1/4. The
  // two precisions then hand the softmax the same scores, which must come out bit for bit
  // equal; any stride of any head read wrong would change them. The second sequence pads 4 of
  // its 9 keys, which must get probability 0.
  const int64_t B = 2, Tk = 9, D = 32, H = 2;
  const Indices mask{{B, Tk}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}};
  for (int64_t Tq : {int64_t(1), int64_t(6)}) {
    INFO("Tq = " << Tq);
    const Tensor q = multiples_of({B, Tq, D}, 0.125, 8, 20);
    const Tensor k = multiples_of({B, Tk, D}, 0.125, 8, 21);
    const Tensor p16 = ag::attention_probs(q, k, mask, H, 0.25f, Precision::kBf16);
    const Tensor p32 = ag::attention_probs(q, k, mask, H, 0.25f, Precision::kFp32);
    CHECK(p16.to_vector() == p32.to_vector());
    int64_t masked_nonzero = 0, distinct = 0;
    for (int64_t i = 0; i < p16.numel(); ++i) {
      const int64_t b = i / (H * Tq * Tk), key = i % Tk;
      masked_nonzero += mask.values[b * Tk + key] == 0 && p16.data()[i] != 0.0f;
      distinct += p16.data()[i] != p16.data()[0];
    }
    CHECK(masked_nonzero == 0);
    CHECK(distinct > p16.numel() / 2);  // real scores, not a uniform row
  }
}

TEST_CASE("attention_probs backward in bf16: dQ, dK from bf16-rounded dS, K, Q, accumulated") {
  REQUIRE(ag::bf16_gemm_built());
  // With q = 0 (or k = 0) every score is 0 and the probabilities are 1/n over the n unmasked
  // keys: 1/8 in the first sequence, 1/4 in the second (4 padded keys). With gradients G in
  // multiples of 2⁻⁴ in [−1, 1], dS = P ⊙ (G − Σ G ⊙ P) is exact in fp32 (at most 9
  // significant bits, times a power of two): computed here in double it is the op's dS, and
  // rounded here it is the op's bf16 dS. The other operand is general. Each input feeds two
  // probs ops, so the second backward adds into the first's gradient.
  const int64_t B = 2, Tq = 3, Tk = 8, D = 24, H = 2, dh = 12;
  const Heads s{B, Tq, Tk, D, H, dh};
  const Indices mask{{B, Tk}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}};
  const float scale = 1.0f / std::sqrt(float(dh));
  const Tensor G = multiples_of({B, H, Tq, Tk}, 0.0625, 16, 30);
  for (bool zero_query : {true, false}) {  // q = 0: checks dQ; k = 0: checks dK
    INFO((zero_query ? "q = 0, dQ = scale dS K" : "k = 0, dK = scale dSt Q"));
    Tensor q = zero_query ? Tensor::zeros({B, Tq, D}) : gradcheck::random_tensor({B, Tq, D}, 31);
    Tensor k = zero_query ? gradcheck::random_tensor({B, Tk, D}, 32) : Tensor::zeros({B, Tk, D});
    q.set_requires_grad(true), k.set_requires_grad(true);
    Tensor p = ag::attention_probs(q, k, mask, H, scale, Precision::kBf16);
    Tensor twice = ag::add(p, ag::attention_probs(q, k, mask, H, scale, Precision::kBf16));
    twice.backward(G);

    // The construction: P is exactly 1/n.
    int64_t not_uniform = 0;
    for (int64_t i = 0; i < p.numel(); ++i) {
      const int64_t b = i / (H * Tq * Tk), key = i % Tk;
      const float expected = mask.values[b * Tk + key] == 0 ? 0.0f : b == 0 ? 0.125f : 0.25f;
      not_uniform += p.data()[i] != expected;
    }
    REQUIRE(not_uniform == 0);
    Tensor dS = Tensor::empty({B, H, Tq, Tk});
    for (int64_t row = 0; row < B * H * Tq; ++row) {
      const float *pr = p.data() + row * Tk, *g = G.data() + row * Tk;
      double dot = 0.0;
      for (int64_t j = 0; j < Tk; ++j) dot += double(g[j]) * pr[j];
      for (int64_t j = 0; j < Tk; ++j) dS.data()[row * Tk + j] = float(pr[j] * (g[j] - dot));
    }

    const Tensor& other = zero_query ? k : q;  // the general operand
    const Tensor& grad = zero_query ? q.grad() : k.grad();
    const Tensor& zero_grad = zero_query ? k.grad() : q.grad();
    const Reference r =
        zero_query
            ? rounded_product(B, H, scale, dS.data(), dS.numel(), s.p_blocks(), other.data(),
                              other.numel(), s.k_heads(), grad.numel(), s.q_heads())
            : rounded_product(B, H, scale, dS.data(), dS.numel(), s.p_blocks().transposed(),
                              other.data(), other.numel(), s.q_heads(), grad.numel(), s.k_heads());
    check_within_accumulation(grad.data(), doubled(r.value), doubled(r.magnitude),
                              std::vector<double>(grad.numel(), 0.0), zero_query ? Tk : Tq);
    double largest = 0.0;
    for (double x : r.value) largest = std::max(largest, std::abs(x));
    CHECK(largest > 0.1);  // a real gradient
    // The other input's gradient multiplies dS by zeros.
    for (int64_t i = 0; i < zero_grad.numel(); ++i) REQUIRE(zero_grad.data()[i] == 0.0f);
  }
}

TEST_CASE("attention runs in fp32 by default, and kBf16 changes every output and gradient") {
  REQUIRE(ag::bf16_gemm_built());
  const int64_t B = 2, Tq = 4, Tk = 7, D = 16, H = 2;
  const Indices mask{{B, Tk}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}};
  auto run = [&](int precision) {  // 0: default argument, 1: kFp32, 2: kBf16
    Tensor q = gradcheck::random_tensor({B, Tq, D}, 40).set_requires_grad(true);
    Tensor k = gradcheck::random_tensor({B, Tk, D}, 41).set_requires_grad(true);
    Tensor v = gradcheck::random_tensor({B, Tk, D}, 42).set_requires_grad(true);
    Tensor ctx;
    if (precision == 0) {
      ctx = ag::attention_context(ag::attention_probs(q, k, mask, H, 0.5f), v, H);
    } else {
      const Precision p = precision == 1 ? Precision::kFp32 : Precision::kBf16;
      ctx = ag::attention_context(ag::attention_probs(q, k, mask, H, 0.5f, p), v, H, p);
    }
    ctx.backward(gradcheck::random_tensor({B, Tq, D}, 43));
    return std::vector<std::vector<float>>{ctx.to_vector(), q.grad().to_vector(),
                                           k.grad().to_vector(), v.grad().to_vector()};
  };
  const auto by_default = run(0), fp32 = run(1), bf16 = run(2);
  CHECK(by_default == fp32);
  for (size_t t = 0; t < fp32.size(); ++t) CHECK_MESSAGE(bf16[t] != fp32[t], "output ", t);
}

TEST_CASE("models::set_precision runs the attention of DistilBERT and BERT in bf16") {
  REQUIRE(ag::bf16_gemm_built());
  for (const char* folder : {"tiny-distilbert", "tiny-bert"}) {
    INFO(folder);
    fixture::Reference ref(std::string(folder) + "/reference.safetensors");
    const auto in = fixture::batch(ref);
    auto fp32 = ag::models::from_pretrained(fixture::path(folder));
    auto attention_only = ag::models::from_pretrained(fixture::path(folder));
    auto bf16 = ag::models::from_pretrained(fixture::path(folder));
    for (auto* m : {&fp32, &attention_only, &bf16}) (*m)->eval();
    ag::NoGradGuard no_grad;
    const std::vector<float> logits = fp32->forward(in).to_vector();
    const std::vector<float> hidden = fp32->last_hidden_state(in).to_vector();

    ag::models::set_precision(*fp32, Precision::kFp32);  // changes nothing
    CHECK(fp32->attention_precision() == Precision::kFp32);
    // Only the attention in bf16 (the weights stay fp32): both forwards change.
    attention_only->set_attention_precision(Precision::kBf16);
    CHECK(attention_only->forward(in).to_vector() != logits);
    CHECK(attention_only->last_hidden_state(in).to_vector() != hidden);
    // set_precision: the weights' copies and the attention. A model's precision is its own:
    // the fp32 model, run after the bf16 ones, gives its first values bit for bit.
    ag::models::set_precision(*bf16, Precision::kBf16, ag::nn::FrozenFp32::kKeep);
    CHECK(bf16->attention_precision() == Precision::kBf16);
    int64_t linears = 0, with_copy = 0;
    for (auto& [name, module] : bf16->named_modules())
      if (auto* linear = dynamic_cast<ag::nn::Linear*>(module)) {
        ++linears;
        with_copy += linear->weight.bf16_copy() != nullptr;
      }
    CHECK(linears > 0);
    CHECK(with_copy == linears);
    CHECK(bf16->forward(in).to_vector() != attention_only->forward(in).to_vector());
    CHECK(fp32->forward(in).to_vector() == logits);
    CHECK(fp32->last_hidden_state(in).to_vector() == hidden);
  }
}
