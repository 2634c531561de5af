// bf16 products through oneDNN's matmul primitive (see bf16_gemm.h).
//
// oneDNN builds a matmul "primitive" for one problem (shapes, layouts, data types, thread
// count): it picks the kernel (AMX tiles, AVX512_BF16 dot products, ...) and its blocking once,
// which takes far longer than a small product. Primitives are therefore cached per shape: a
// training run sees a handful of (rows, in, out) triples, one per padded batch length.
#include "core/bf16_gemm.h"

#include <omp.h>
#if defined(__x86_64__)
#include <immintrin.h>  // VCVTNE2PS2BF16
#endif

#include <algorithm>
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

#include "core/onednn_engine.h"
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

static void float_to_bf16_portable(const float* in, bf16_bits* out, int64_t n) {
#pragma omp parallel for simd if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) out[i] = round_to_bf16(in[i]);
}

#if defined(__x86_64__) && defined(__GNUC__)
// The instruction made for it: VCVTNE2PS2BF16 rounds 32 floats to nearest even in one go, 2-3x
// faster than the portable loop (which GCC vectorises to shifts and adds). It differs from
// round_to_bf16 only on denormal inputs (below 1.2e-38), which it flushes to zero. Compiled for
// AVX512_BF16 alone, and called only where the CPU has it.
__attribute__((target("avx512f,avx512bf16"))) static void convert_blocks_of_32(const float* in,
                                                                               bf16_bits* out,
                                                                               int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b) {
    const float* src = in + b * 32;
    const __m512bh pair = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + 16), _mm512_loadu_ps(src));
    _mm512_storeu_si512(out + b * 32, __m512i(pair));
  }
}

// Threads take chunks of 256 blocks (8192 values); the OpenMP loop itself holds no vector type.
static void float_to_bf16_avx512(const float* in, bf16_bits* out, int64_t n) {
  constexpr int64_t kChunk = 256;
  const int64_t blocks = n / 32, chunks = (blocks + kChunk - 1) / kChunk;
#pragma omp parallel for if (n > kParallelGrain)
  for (int64_t c = 0; c < chunks; ++c)
    convert_blocks_of_32(in + c * kChunk * 32, out + c * kChunk * 32,
                         std::min(kChunk, blocks - c * kChunk));
  for (int64_t i = blocks * 32; i < n; ++i) out[i] = round_to_bf16(in[i]);
}
#endif

void float_to_bf16(const float* in, bf16_bits* out, int64_t n) {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool has_instruction = detect_cpu_features().avx512_bf16;
  if (has_instruction) return float_to_bf16_avx512(in, out, n);
#endif
  float_to_bf16_portable(in, out, n);
}

float bf16_to_float(bf16_bits b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

bool bf16_pays_on(const CpuFeatures& cpu) {
  return cpu.amx || (cpu.is_amd() && cpu.avx512_bf16);
}

std::string bf16_hardware(const CpuFeatures& cpu) {
  return cpu.amx ? "AMX-BF16" : cpu.avx512_bf16 ? "AVX512_BF16" : "none";
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

dnnl::engine& onednn_cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Type = memory::data_type;

// The layout oneDNN's matmul wants for a (K, N) bf16 weight. It depends on K, N and the CPU,
// not on the number of rows (checked for 1 to 4096 rows), so one copy serves every batch.
memory::desc blocked_weight_desc(int64_t K, int64_t N) {
  // Built on first use and kept, as the primitives (PrimitiveCache, core/onednn_engine.h).
  static std::map<std::pair<int64_t, int64_t>, memory::desc> layouts;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = layouts.find({K, N});
  if (it != layouts.end()) return it->second;
  constexpr int64_t kRowsForLayout = 128;
  dnnl::matmul::primitive_desc pd(
      dnnl::matmul::desc(memory::desc({kRowsForLayout, K}, Type::bf16, Tag::ab),
                         memory::desc({K, N}, Type::bf16, Tag::any),
                         memory::desc({kRowsForLayout, N}, Type::f32, Tag::ab)),
      onednn_cpu_engine());
  return layouts.emplace(std::make_pair(K, N), pd.weights_desc()).first->second;
}

}  // namespace

struct Bf16Matrix::Blocked {
  memory::desc desc;
  std::unique_ptr<uint8_t[], void (*)(void*)> values{nullptr, std::free};
};

namespace {

// Gives `out` a 64-byte aligned buffer for `desc` (once: the layout of a weight never changes).
void allocate(Bf16Matrix::Blocked& out, const memory::desc& desc) {
  if (out.values) return;
  out.desc = desc;
  const size_t bytes = (desc.get_size() + 63) / 64 * 64;
  out.values.reset(static_cast<uint8_t*>(std::aligned_alloc(64, bytes)));
  if (!out.values) throw std::bad_alloc();
}

// The weight W (rows, cols) fp32 row-major, rounded to bf16 (nearest even, as oneDNN's reorder
// does) into the blocked layout of the forward's (K, N) = (cols, rows) matmul weight Wᵀ.
// Row-major W (rows, cols) is Wᵀ (cols, rows) read column-major: format "ba".
void fill_forward(const float* w, int64_t rows, int64_t cols, Bf16Matrix::Blocked& out) {
  allocate(out, blocked_weight_desc(cols, rows));
  memory::desc plain({cols, rows}, Type::f32, Tag::ba);
  dnnl::engine& engine = onednn_cpu_engine();
  memory src(plain, engine, const_cast<float*>(w)), dst(out.desc, engine, out.values.get());
  dnnl::stream stream(engine);
  dnnl::reorder(src, dst).execute(stream, src, dst);
  stream.wait();
}

// The backward layout from the forward one, bf16 to bf16 (no second rounding, no fp32 needed):
// the forward copy holds the logical (in, out) matrix Wᵀ; unpacked to plain bf16 it is W
// row-major, which read as the logical (out, in) matrix packs into the backward layout.
void fill_backward_from_forward(const Bf16Matrix& copy, Bf16Matrix::Blocked& out) {
  const int64_t in = copy.cols, rows = copy.rows;
  allocate(out, blocked_weight_desc(rows, in));
  std::vector<bf16_bits> plain(size_t(rows * in));
  dnnl::engine& engine = onednn_cpu_engine();
  dnnl::stream stream(engine);
  memory blocked_t(copy.forward->desc, engine, copy.forward->values.get());
  memory plain_t(memory::desc({in, rows}, Type::bf16, Tag::ba), engine, plain.data());
  dnnl::reorder(blocked_t, plain_t).execute(stream, blocked_t, plain_t);
  memory plain_w(memory::desc({rows, in}, Type::bf16, Tag::ab), engine, plain.data());
  memory blocked_w(out.desc, engine, out.values.get());
  dnnl::reorder(plain_w, blocked_w).execute(stream, plain_w, blocked_w);
  stream.wait();
}

// One cached product C (M, N) (+)= A (M, K) B (K, N): A bf16 row-major, B the weight in its
// blocked layout, C fp32 row-major.
struct ProductKey {
  int64_t M, K, N;
  bool accumulate;
  int threads;  // oneDNN splits the work for a thread count fixed at creation
  bool operator<(const ProductKey& o) const {
    return std::tie(M, K, N, accumulate, threads) <
           std::tie(o.M, o.K, o.N, o.accumulate, o.threads);
  }
};

struct Product {
  dnnl::matmul primitive;
  memory::desc a, c, scratchpad;
};

Product make_product(const ProductKey& key, const memory::desc& weight) {
  memory::desc a({key.M, key.K}, Type::bf16, Tag::ab);
  memory::desc c({key.M, key.N}, Type::f32, Tag::ab);
  dnnl::primitive_attr attr;
  // Left to oneDNN, every cached primitive would keep its own work buffer for good (hundreds of
  // MiB over a run's shapes); one shared buffer, grown to the largest, serves them all.
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (key.accumulate) {  // C = A B + C: oneDNN's "sum" post-op
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, weight, c), attr, onednn_cpu_engine());
  return Product{dnnl::matmul(pd), a, c, pd.scratchpad_desc()};
}

// The primitive for `key` (oneDNN's runtime-sized alternative falls back to its reference
// kernel, 5000x slower, so every row count gets its own). Length-bucketed training sees up to
// ~8 products x ~64 row counts.
const Product& cached_product(const ProductKey& key, const memory::desc& weight) {
  static PrimitiveCache<ProductKey, Product> cache;
  return cache.get(key, [&] { return make_product(key, weight); });
}

// A 64-byte aligned buffer of at least `bytes`, reused from call to call and grown when needed.
struct ReusedBuffer {
  std::unique_ptr<uint8_t[], void (*)(void*)> data{nullptr, std::free};
  size_t capacity = 0;
  void* get(size_t bytes) {
    if (bytes > capacity) {
      capacity = (bytes + 63) / 64 * 64;
      data.reset(static_cast<uint8_t*>(std::aligned_alloc(64, capacity)));
      if (!data) throw std::bad_alloc();
    }
    return data.get();
  }
};

// The activations converted to bf16 for one product.
bf16_bits* activation_buffer(int64_t n) {
  static thread_local ReusedBuffer buffer;
  return static_cast<bf16_bits*>(buffer.get(size_t(n) * sizeof(bf16_bits)));
}

}  // namespace

void* onednn_scratchpad(size_t bytes) {
  static thread_local ReusedBuffer buffer;
  return buffer.get(bytes == 0 ? 64 : bytes);
}

void run_onednn_matmul(const dnnl::matmul& matmul, const memory::desc& a, const void* a_data,
                       const memory::desc& b, const void* b_data, const memory::desc& c,
                       float* c_data, const memory::desc& scratchpad) {
  dnnl::engine& engine = onednn_cpu_engine();
  // oneDNN's memory objects take non-const pointers; the inputs are only read.
  memory am(a, engine, const_cast<void*>(a_data)), bm(b, engine, const_cast<void*>(b_data));
  memory cm(c, engine, c_data), work(scratchpad, engine, onednn_scratchpad(scratchpad.get_size()));
  dnnl::stream stream(engine);
  matmul.execute(stream, {{DNNL_ARG_SRC, am},
                          {DNNL_ARG_WEIGHTS, bm},
                          {DNNL_ARG_DST, cm},
                          {DNNL_ARG_SCRATCHPAD, work}});
  stream.wait();
}

namespace {

// C (M, N) = A (M, K) B + beta · C with A fp32 (rounded here) and B a blocked bf16 weight.
void bf16_product(const float* a, int64_t M, int64_t K, int64_t N, const Bf16Matrix::Blocked& b,
                  float beta, float* c) {
  if (M == 0 || N == 0) return;
  if (beta != 0.0f && beta != 1.0f) throw Error("bf16 product: beta must be 0 or 1");
  bf16_bits* a16 = activation_buffer(M * K);
  float_to_bf16(a, a16, M * K);
  const Product& p = cached_product({M, K, N, beta != 0.0f, omp_get_max_threads()}, b.desc);
  run_onednn_matmul(p.primitive, p.a, a16, b.desc, b.values.get(), p.c, c, p.scratchpad);
}

Bf16Matrix& copy_of(const Tensor& w) {
  Bf16Matrix* copy = w.impl()->bf16.get();
  if (copy == nullptr) throw Error("bf16 product: the weight has no bf16 copy");
  return *copy;
}

}  // namespace

Bf16Matrix::Bf16Matrix(int64_t r, int64_t c) : rows(r), cols(c) {}
Bf16Matrix::~Bf16Matrix() = default;

void attach_bf16_copy(const Tensor& w) {
  if (w.dim() != 2)
    throw ShapeError("attach_bf16_copy: needs a 2-D weight, got " + to_string(w.shape()));
  auto& copy = w.impl()->bf16;
  if (!copy) copy = std::make_shared<Bf16Matrix>(w.size(0), w.size(1));
  if (!copy->forward) copy->forward = std::make_unique<Bf16Matrix::Blocked>();
  fill_forward(w.data(), copy->rows, copy->cols, *copy->forward);
  if (copy->backward) fill_backward_from_forward(*copy, *copy->backward);
}

void release_fp32_values(const Tensor& w) {
  copy_of(w);                                   // throws if there is no copy to keep
  w.impl()->storage->reuse_when_freed = false;  // to the system, not the block cache
  w.impl()->storage.reset();
}

// W is (out, in) row-major; the forward multiplies by Wᵀ (in, out).
void bf16_gemm_x_wt(const float* x, int64_t M, const Tensor& w, float beta, float* y) {
  Bf16Matrix& copy = copy_of(w);
  bf16_product(x, M, copy.cols, copy.rows, *copy.forward, beta, y);
}

void bf16_gemm_dy_w(const float* dy, int64_t M, const Tensor& w, float beta, float* dx) {
  Bf16Matrix& copy = copy_of(w);
  if (!copy.backward) {
    copy.backward = std::make_unique<Bf16Matrix::Blocked>();
    fill_backward_from_forward(copy, *copy.backward);
  }
  bf16_product(dy, M, copy.rows, copy.cols, *copy.backward, beta, dx);
}

#else  // built without oneDNN: no weight ever carries a bf16 copy (attach_bf16_copy refuses)

bool bf16_gemm_built() {
  return false;
}

struct Bf16Matrix::Blocked {};
Bf16Matrix::Bf16Matrix(int64_t r, int64_t c) : rows(r), cols(c) {}
Bf16Matrix::~Bf16Matrix() = default;

void attach_bf16_copy(const Tensor&) {
  throw Error("bf16 needs oneDNN, and this build has none (install libdnnl-dev and rebuild)");
}
void release_fp32_values(const Tensor&) {
  throw Error("release_fp32_values: this build has no oneDNN");
}
void bf16_gemm_x_wt(const float*, int64_t, const Tensor&, float, float*) {
  throw Error("bf16_gemm_x_wt: this build has no oneDNN");
}
void bf16_gemm_dy_w(const float*, int64_t, const Tensor&, float, float*) {
  throw Error("bf16_gemm_dy_w: this build has no oneDNN");
}

#endif

}  // namespace ag
