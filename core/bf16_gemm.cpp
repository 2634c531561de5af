// bf16 products through oneDNN's matmul primitive (see bf16_gemm.h).
//
// oneDNN builds a matmul "primitive" for one problem (shapes, layouts, data types, thread
// count): it picks the kernel (AMX tiles, AVX512_BF16 dot products, ...) and its blocking once,
// which takes far longer than a small product. Primitives are therefore cached per shape: a
// training run sees a handful of (rows, in, out) triples, one per padded batch length.
#include "core/bf16_gemm.h"

#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "core/errors.h"
#include "core/parallel.h"

#ifdef ADAPTGRAD_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace ag {

// Round to nearest even on the bit pattern: add 0x7FFF plus the lowest kept bit, then keep the
// upper 16 bits. A NaN is kept a NaN (quiet bit set) instead of rounding into infinity.
static inline bf16_bits round_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const bool nan = (u & 0x7FFFFFFFu) > 0x7F800000u;
  return bf16_bits(nan ? ((u >> 16) | 0x40u) : rounded);
}

void float_to_bf16(const float* in, bf16_bits* out, int64_t n) {
#pragma omp parallel for simd if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) out[i] = round_to_bf16(in[i]);
}

float bf16_to_float(bf16_bits b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

static bf16_bits* allocate_bf16(int64_t n) {
  const size_t bytes = (size_t(n) * sizeof(bf16_bits) + 63) / 64 * 64;
  auto* p = static_cast<bf16_bits*>(std::aligned_alloc(64, bytes == 0 ? 64 : bytes));
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

Bf16Matrix::Bf16Matrix(int64_t r, int64_t c)
    : rows(r), cols(c), values(allocate_bf16(r * c), std::free) {}

bool bf16_pays_on(const CpuFeatures& cpu) {
  return cpu.amx || (cpu.is_amd() && cpu.avx512_bf16);
}

std::string bf16_hardware(const CpuFeatures& cpu) {
  return cpu.amx ? "AMX-BF16" : cpu.avx512_bf16 ? "AVX512_BF16" : "none";
}

void attach_bf16_copy(const Tensor& w) {
  if (!bf16_gemm_built())
    throw Error("bf16 needs oneDNN, and this build has none (install libdnnl-dev and rebuild)");
  if (w.dim() != 2)
    throw ShapeError("attach_bf16_copy: needs a 2-D weight, got " + to_string(w.shape()));
  auto& copy = w.impl()->bf16;
  if (!copy) copy = std::make_shared<Bf16Matrix>(w.size(0), w.size(1));
  float_to_bf16(w.data(), copy->values.get(), w.numel());
}

void refresh_bf16_copy(const Tensor& w) {
  if (w.defined() && w.impl()->bf16) attach_bf16_copy(w);
}

void drop_bf16_copy(const Tensor& w) {
  if (w.defined()) w.impl()->bf16.reset();
}

#ifdef ADAPTGRAD_HAVE_ONEDNN

bool bf16_gemm_built() {
  return true;
}

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Type = memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// One cached product C (M, N) (+)= A (M, K) B (K, N): A bf16 row-major, C fp32 row-major, and
// B the weight, row-major (K, N) or, when `b_transposed`, read from a row-major (N, K) array.
struct ProductKey {
  int64_t M, K, N;
  bool b_transposed, accumulate;
  int threads;  // oneDNN splits the work for a thread count fixed at creation
  bool operator<(const ProductKey& o) const {
    return std::tie(M, K, N, b_transposed, accumulate, threads) <
           std::tie(o.M, o.K, o.N, o.b_transposed, o.accumulate, o.threads);
  }
};

struct Product {
  dnnl::matmul primitive;
  memory::desc a, b, c;
};

Product make_product(const ProductKey& key) {
  memory::desc a({key.M, key.K}, Type::bf16, Tag::ab);
  memory::desc b({key.K, key.N}, Type::bf16, key.b_transposed ? Tag::ba : Tag::ab);
  memory::desc c({key.M, key.N}, Type::f32, Tag::ab);
  dnnl::primitive_attr attr;
  if (key.accumulate) {  // C = A B + C: oneDNN's "sum" post-op
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, cpu_engine());
  return Product{dnnl::matmul(pd), a, b, c};
}

// The primitive for `key`, built on first use. Bounded: a run with hundreds of distinct batch
// shapes starts a fresh cache instead of growing without end.
const Product& cached_product(const ProductKey& key) {
  static std::mutex mutex;
  static std::map<ProductKey, Product> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (cache.size() >= 256) cache.clear();
  return cache.emplace(key, make_product(key)).first->second;
}

// The activations converted to bf16 for one product; reused from call to call.
bf16_bits* activation_buffer(int64_t n) {
  static thread_local std::unique_ptr<bf16_bits[], void (*)(void*)> buffer(nullptr, std::free);
  static thread_local int64_t capacity = 0;
  if (n > capacity) {
    buffer.reset(allocate_bf16(n));
    capacity = n;
  }
  return buffer.get();
}

// C (M, N) = A (M, K) op(W) + beta · C with A fp32, converted here.
void bf16_product(const float* a, int64_t M, int64_t K, int64_t N, const Bf16Matrix& w,
                  bool w_transposed, float beta, float* c) {
  if (M == 0 || N == 0) return;
  if (beta != 0.0f && beta != 1.0f) throw Error("bf16 product: beta must be 0 or 1");
  bf16_bits* a16 = activation_buffer(M * K);
  float_to_bf16(a, a16, M * K);
  const ProductKey key{M, K, N, w_transposed, beta != 0.0f, omp_get_max_threads()};
  const Product& p = cached_product(key);
  dnnl::engine& engine = cpu_engine();
  memory am(p.a, engine, a16), bm(p.b, engine, w.values.get()), cm(p.c, engine, c);
  dnnl::stream stream(engine);
  p.primitive.execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
  stream.wait();
}

}  // namespace

// W is (out, in) row-major; the forward needs Wᵀ (in, out), which is W read column-major.
void bf16_gemm_x_wt(const float* x, int64_t M, const Bf16Matrix& w, float beta, float* y) {
  bf16_product(x, M, w.cols, w.rows, w, true, beta, y);
}

void bf16_gemm_dy_w(const float* dy, int64_t M, const Bf16Matrix& w, float beta, float* dx) {
  bf16_product(dy, M, w.rows, w.cols, w, false, beta, dx);
}

#else  // built without oneDNN: no weight ever carries a bf16 copy (attach_bf16_copy refuses)

bool bf16_gemm_built() {
  return false;
}

void bf16_gemm_x_wt(const float*, int64_t, const Bf16Matrix&, float, float*) {
  throw Error("bf16_gemm_x_wt: this build has no oneDNN");
}
void bf16_gemm_dy_w(const float*, int64_t, const Bf16Matrix&, float, float*) {
  throw Error("bf16_gemm_dy_w: this build has no oneDNN");
}

#endif

}  // namespace ag
