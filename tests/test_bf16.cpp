// bf16 products of weights that carry a bf16 copy (core/bf16_gemm.h, nn/precision.h).
//
// The reference is independent of oneDNN: the same product computed in double from the
// operands rounded to bf16 by hand-checked rounding. oneDNN multiplies bf16 exactly (a bf16 x
// bf16 product fits in fp32's mantissa) and accumulates in fp32, so its result may differ
// from that reference only by fp32 accumulation: |error| <= K · 2⁻²⁴ · Σ_k |a_k b_k| (a sum of
// K terms in any order; the test uses 2K for the blocked partial sums). Against the fp32
// product the difference is the rounding of both operands: each is within 2⁻⁸ of itself
// relatively, so |y16 − y32| <= (2·2⁻⁸ + 2⁻¹⁶) Σ_k |x_k w_k| plus the same fp32 terms.
#include <cmath>
#include <cstring>

#include "core/bf16_gemm.h"
#include "core/errors.h"
#include "core/ops.h"
#include "gradcheck.h"
#include "nn/inject.h"
#include "nn/lora.h"
#include "nn/optim.h"
#include "nn/precision.h"

using ag::Tensor;

namespace {

ag::bf16_bits round_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  ag::bf16_bits b;
  ag::float_to_bf16(&f, &b, 1);
  return b;
}

// Σ_k round(x_ik) round(w_jk) in double, and Σ_k |x_ik w_jk|, for y = x Wᵀ.
struct Reference {
  std::vector<double> value, magnitude;
};

Reference rounded_x_wt(const Tensor& x, const Tensor& w) {
  const int64_t M = x.size(0), K = x.size(1), N = w.size(0);
  std::vector<ag::bf16_bits> x16(M * K), w16(N * K);
  ag::float_to_bf16(x.data(), x16.data(), M * K);
  ag::float_to_bf16(w.data(), w16.data(), N * K);
  Reference r{std::vector<double>(M * N, 0.0), std::vector<double>(M * N, 0.0)};
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) {
        r.value[i * N + j] +=
            double(ag::bf16_to_float(x16[i * K + k])) * double(ag::bf16_to_float(w16[j * K + k]));
        r.magnitude[i * N + j] += std::abs(double(x.data()[i * K + k]) * w.data()[j * K + k]);
      }
  return r;
}

// Checks y against the rounded-operand reference within fp32 accumulation error.
void check_against_rounded(const Tensor& y, const Reference& r, int64_t K) {
  const double accumulation = 2.0 * double(K) * std::ldexp(1.0, -24);
  for (size_t i = 0; i < r.value.size(); ++i)
    REQUIRE(std::abs(y.data()[i] - r.value[i]) <= accumulation * r.magnitude[i] * 1.01 + 1e-30);
}

Tensor with_bf16(Tensor w) {
  ag::attach_bf16_copy(w);
  return w;
}

}  // namespace

TEST_CASE("float_to_bf16 rounds to nearest even and keeps NaN and infinity") {
  // 1.0 is 0x3F800000 and bf16 0x3F80. Its bf16 neighbours differ in the last of 7 mantissa
  // bits (2⁻⁷); the fp32 values exactly between them round to the even one.
  CHECK(round_bits(0x3F800000u) == 0x3F80);
  CHECK(round_bits(0x3F808000u) == 0x3F80);            // 1 + 2⁻⁸: halfway, 0x3F80 is even
  CHECK(round_bits(0x3F818000u) == 0x3F82);            // 1 + 3·2⁻⁸: halfway, 0x3F82 is even
  CHECK(round_bits(0x3F808001u) == 0x3F81);            // just above halfway: up
  CHECK(round_bits(0x3F807FFFu) == 0x3F80);            // just below: down
  CHECK(round_bits(0xBF818000u) == 0xBF82);            // the sign does not change the rule
  CHECK(round_bits(0x7F800000u) == 0x7F80);            // +inf
  CHECK(round_bits(0x7F7FFFFFu) == 0x7F80);            // the largest float rounds up to inf
  CHECK((round_bits(0x7FC00000u) & 0x7FFF) > 0x7F80);  // quiet NaN stays NaN
  CHECK((round_bits(0x7F800001u) & 0x7FFF) > 0x7F80);  // a NaN whose payload would round to inf
  CHECK(ag::bf16_to_float(0x3F82) == 1.015625f);       // 1 + 2⁻⁶
}

TEST_CASE(
    "float_to_bf16 over an array (the vector instruction where the CPU has it) = one by one") {
  // Random bit patterns of normal numbers, and values exactly halfway between two bf16 numbers
  // (low 16 bits 0x8000), where rounding to even decides; n = 1000 leaves a tail of 8.
  std::vector<float> values(1000);
  uint64_t state = 99;
  for (size_t i = 0; i < values.size(); ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t bits = uint32_t(state >> 32);
    const uint32_t exponent = (bits >> 23) & 0xFF;
    if (exponent == 0 || exponent == 0xFF) bits ^= 0x40000000u;  // keep it normal and finite
    if (i % 3 == 0) bits = (bits & 0xFFFF0000u) | 0x8000u;
    std::memcpy(&values[i], &bits, sizeof bits);
  }
  std::vector<ag::bf16_bits> together(values.size());
  ag::float_to_bf16(values.data(), together.data(), int64_t(values.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], sizeof bits);
    CHECK_MESSAGE(together[i] == round_bits(bits), i);
  }
}

TEST_CASE("linear with a bf16 weight: the product of the bf16-rounded operands") {
  REQUIRE(ag::bf16_gemm_built());
  const int64_t M = 37, K = 300, N = 45;
  Tensor x = gradcheck::random_tensor({M, K}, 1), w = gradcheck::random_tensor({N, K}, 2);
  Tensor b = gradcheck::random_tensor({N}, 3);
  Tensor y32 = ag::linear(x, w, b);
  Tensor w16 = with_bf16(w.clone());
  Tensor y16 = ag::linear(x, w16, b);

  Tensor y16_no_bias = ag::linear(x, w16);
  const Reference r = rounded_x_wt(x, w);
  check_against_rounded(y16_no_bias, r, K);
  // Against fp32: within the rounding bound, and really different (bf16 did run).
  double largest_change = 0.0;
  const double rounding = 2.0 * std::ldexp(1.0, -8) + std::ldexp(1.0, -16);
  for (int64_t i = 0; i < M * N; ++i) {
    const double change = std::abs(double(y16.data()[i]) - y32.data()[i]);
    CHECK(change <= (rounding + 4.0 * K * std::ldexp(1.0, -24)) * r.magnitude[i]);
    CHECK(y16.data()[i] == doctest::Approx(y16_no_bias.data()[i] + b.data()[i % N]).epsilon(1e-6));
    largest_change = std::max(largest_change, change);
  }
  CHECK(largest_change > 1e-4);
  // Dropping the copy gives fp32 back, bit for bit.
  ag::drop_bf16_copy(w16);
  CHECK(ag::linear(x, w16, b).to_vector() == y32.to_vector());
}

TEST_CASE("linear backward with a bf16 weight: dx = dy W in bf16, accumulated when shared") {
  REQUIRE(ag::bf16_gemm_built());
  const int64_t M = 19, K = 70, N = 130;
  Tensor x = gradcheck::random_tensor({M, K}, 4).set_requires_grad(true);
  Tensor w = with_bf16(gradcheck::random_tensor({N, K}, 5));
  Tensor dy = gradcheck::random_tensor({M, N}, 6);
  // x feeds two linears: the second backward accumulates into dx (oneDNN's sum post-op).
  Tensor y = ag::add(ag::linear(x, w), ag::linear(x, w));
  y.backward(dy);
  // dx = 2 dy W, each dy W the product of bf16(dy) and bf16(W): as dy (M, N) times Wᵀᵀ.
  Tensor wt = ag::transpose2d(w).detach();  // (K, N): dy W = dy (Wᵀ)ᵀ
  Reference r = rounded_x_wt(dy, wt);
  for (auto& v : r.value) v *= 2.0;
  for (auto& v : r.magnitude) v *= 2.0;
  check_against_rounded(x.grad(), r, N);
}

TEST_CASE("lora_linear with a bf16 base: adapter gradients identical to fp32, y and dx bf16") {
  REQUIRE(ag::bf16_gemm_built());
  const int64_t M = 23, IN = 64, OUT = 48, R = 4;
  const float s = 2.0f;
  auto run = [&](bool bf16, Tensor& dx, Tensor& da, Tensor& db) {
    Tensor x = gradcheck::random_tensor({M, IN}, 7).set_requires_grad(true);
    Tensor w = gradcheck::random_tensor({OUT, IN}, 8);
    if (bf16) ag::attach_bf16_copy(w);
    Tensor a = gradcheck::random_tensor({R, IN}, 9).set_requires_grad(true);
    Tensor b = gradcheck::random_tensor({OUT, R}, 10).set_requires_grad(true);
    Tensor y = ag::lora_linear(x, w, Tensor(), a, b, s);
    y.backward(gradcheck::random_tensor({M, OUT}, 11));
    dx = x.grad(), da = a.grad(), db = b.grad();
    return y;
  };
  Tensor dx32, da32, db32, dx16, da16, db16;
  Tensor y32 = run(false, dx32, da32, db32), y16 = run(true, dx16, da16, db16);
  // dA = (s dy B)ᵀ x and dB = s dyᵀ (x Aᵀ) never touch W: the same bits in both precisions.
  CHECK(da16.to_vector() == da32.to_vector());
  CHECK(db16.to_vector() == db32.to_vector());
  CHECK(y16.to_vector() != y32.to_vector());
  CHECK(dx16.to_vector() != dx32.to_vector());
}

TEST_CASE("releasing a frozen weight's fp32 values changes no bit of LoRA and DoRA") {
  REQUIRE(ag::bf16_gemm_built());
  const int64_t M = 9, IN = 40, OUT = 24, R = 4;
  // One fused op per adapter kind; W released or not, every output and gradient must match.
  auto run = [&](bool release, int kind) {
    Tensor x = gradcheck::random_tensor({M, IN}, 21).set_requires_grad(true);
    Tensor w = gradcheck::random_tensor({OUT, IN}, 22), b = gradcheck::random_tensor({OUT}, 23);
    Tensor w_sq = Tensor::empty({OUT});
    for (int64_t i = 0; i < OUT; ++i) {
      double s = 0;
      for (int64_t j = 0; j < IN; ++j) s += double(w.data()[i * IN + j]) * w.data()[i * IN + j];
      w_sq.data()[i] = float(s);
    }
    ag::attach_bf16_copy(w);
    if (release) ag::release_fp32_values(w);
    Tensor a = gradcheck::random_tensor({R, IN}, 24).set_requires_grad(true);
    Tensor bm = gradcheck::random_tensor({OUT, R}, 25).set_requires_grad(true);
    Tensor m = gradcheck::random_tensor({OUT}, 26, 1.0f, 2.0f).set_requires_grad(true);
    ag::AdapterDropout drop;
    drop.p = 0.25f;
    drop.seed = 7;
    const ag::DoraOperands dora{.weight = w,
                                .bias = b,
                                .lora_a = a,
                                .lora_b = bm,
                                .magnitude = m,
                                .weight_row_sq_norms = w_sq,
                                .scaling = 2.0f};
    Tensor y = kind == 0   ? ag::lora_linear(x, w, b, a, bm, 2.0f, drop)
               : kind == 1 ? ag::dora_linear(x, dora, drop, {.norm_gradient = true})
                           : ag::dora_linear(x, dora);
    y.backward(gradcheck::random_tensor({M, OUT}, 27));
    std::vector<std::vector<float>> all = {y.to_vector(), x.grad().to_vector(),
                                           a.grad().to_vector(), bm.grad().to_vector()};
    if (kind > 0) all.push_back(m.grad().to_vector());
    return all;
  };
  for (int kind : {0, 1, 2}) CHECK_MESSAGE(run(false, kind) == run(true, kind), kind);
}

TEST_CASE("use_bf16_weights: every Linear weight but the adapters', refreshed by AdamW") {
  REQUIRE(ag::bf16_gemm_built());
  ag::nn::Module root("Root");
  auto keep = std::make_shared<ag::nn::Linear>(16, 8);
  auto head = std::make_shared<ag::nn::Linear>(8, 2);
  root.register_module("q_lin", keep);
  root.register_module("classifier", head);
  ag::nn::LoraConfig cfg;
  cfg.targets = {"q_lin"};
  cfg.modules_to_save = {"classifier"};
  ag::nn::apply_lora(root, cfg);
  CHECK(ag::nn::use_bf16_weights(root) == 2);  // q_lin.base_layer and classifier
  for (auto& [name, p] : root.named_parameters()) {
    const bool adapter = name.find("lora_") != std::string::npos;
    const bool weight = name.size() > 7 && name.substr(name.size() - 7) == ".weight";
    CHECK_MESSAGE((p.bf16_copy() != nullptr) == (weight && !adapter), name);
  }
  // The frozen base let its fp32 values go; the trained head keeps its master copy.
  CHECK_THROWS_WITH_AS(keep->weight.data(), doctest::Contains("keeps only its bf16 copy"),
                       ag::Error);
  CHECK_NOTHROW(head->weight.data());
  // A trained weight: after a step its copy holds the new values rounded, in both layouts
  // (the backward one exists once a backward ran).
  Tensor x = gradcheck::random_tensor({3, 8}, 12).set_requires_grad(true);
  ag::nn::AdamW opt(root.trainable_parameters(), {.lr = 0.1f});
  ag::sum(head->forward(x)).backward();
  opt.step();
  Tensor w32 = head->weight.clone();  // fp32, no copy
  check_against_rounded(ag::linear(x.detach(), head->weight), rounded_x_wt(x.detach(), w32), 8);
  Tensor x2 = x.detach().clone().set_requires_grad(true), dy = gradcheck::random_tensor({3, 2}, 13);
  ag::linear(x2, head->weight).backward(dy);
  check_against_rounded(x2.grad(), rounded_x_wt(dy, ag::transpose2d(w32)), 2);
}

TEST_CASE("resolve_precision: auto picks bf16 only where it pays; bad words are refused") {
  ag::CpuFeatures zen4;
  zen4.vendor = "AuthenticAMD";
  zen4.avx512f = zen4.avx512_bf16 = true;
  ag::CpuFeatures cooper_lake = zen4;
  cooper_lake.vendor = "GenuineIntel";
  ag::CpuFeatures sapphire_rapids = cooper_lake;
  sapphire_rapids.amx = true;
  ag::CpuFeatures haswell;
  haswell.vendor = "GenuineIntel";
  CHECK(ag::bf16_pays_on(zen4));
  CHECK_FALSE(ag::bf16_pays_on(cooper_lake));
  CHECK(ag::bf16_pays_on(sapphire_rapids));
  CHECK_FALSE(ag::bf16_pays_on(haswell));
  CHECK(ag::nn::resolve_precision("fp32").precision == ag::nn::Precision::kFp32);
  CHECK(ag::nn::resolve_precision("bf16").precision == ag::nn::Precision::kBf16);
  const bool pays = ag::bf16_pays_on(ag::detect_cpu_features());
  CHECK((ag::nn::resolve_precision("auto").precision == ag::nn::Precision::kBf16) == pays);
  CHECK_THROWS_WITH(ag::nn::resolve_precision("fp16"),
                    "--precision: 'fp16' is not fp32, bf16 or auto");
}
