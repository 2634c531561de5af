// One oneDNN matmul for a (B, H) batch of strided bf16 products (see bf16_batched.h).
#include "core/bf16_batched.h"

#include <omp.h>

#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "core/errors.h"

#ifdef ADAPTGRAD_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>

#include "core/onednn_engine.h"
#endif

namespace ag {

Bf16Values::Bf16Values(int64_t n) : storage_((n + 1) / 2) {}

Bf16Values::Bf16Values(const float* values, int64_t n) : Bf16Values(n) {
  float_to_bf16(values, data(), n);
}

static void check_layouts(const MatrixBatch& a, const MatrixBatch& b, const MatrixBatch& c) {
  if (a.cols != b.rows || c.rows != a.rows || c.cols != b.cols)
    throw ShapeError("bf16_batched_product: (" + std::to_string(a.rows) + ", " +
                     std::to_string(a.cols) + ") times (" + std::to_string(b.rows) + ", " +
                     std::to_string(b.cols) + ") into (" + std::to_string(c.rows) + ", " +
                     std::to_string(c.cols) + ")");
}

#ifdef ADAPTGRAD_HAVE_ONEDNN

namespace {

using dnnl::memory;
using Type = memory::data_type;

memory::desc batch_desc(int64_t B, int64_t H, const MatrixBatch& m, Type type) {
  return memory::desc({B, H, m.rows, m.cols}, type,
                      {m.batch_stride, m.head_stride, m.row_stride, m.col_stride});
}

// Every number a primitive is built for: the batch, the three layouts, alpha's bits, whether it
// accumulates, and the thread count (oneDNN splits the work for a count fixed at creation).
using Key = std::vector<int64_t>;

Key key_of(int64_t B, int64_t H, float alpha, const MatrixBatch& a, const MatrixBatch& b,
           bool accumulate, const MatrixBatch& c) {
  uint32_t alpha_bits;
  std::memcpy(&alpha_bits, &alpha, sizeof alpha_bits);
  Key key = {B, H, int64_t(alpha_bits), accumulate, omp_get_max_threads()};
  for (const MatrixBatch* m : {&a, &b, &c})
    key.insert(key.end(),
               {m->rows, m->cols, m->batch_stride, m->head_stride, m->row_stride, m->col_stride});
  return key;
}

struct BatchedProduct {
  dnnl::matmul primitive;
  memory::desc a, b, c, scratchpad;
};

BatchedProduct make_product(int64_t B, int64_t H, float alpha, const MatrixBatch& a,
                            const MatrixBatch& b, bool accumulate, const MatrixBatch& c) {
  BatchedProduct p{dnnl::matmul(), batch_desc(B, H, a, Type::bf16), batch_desc(B, H, b, Type::bf16),
                   batch_desc(B, H, c, Type::f32), memory::desc()};
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // one shared buffer (onednn_engine.h)
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});  // applied before the sum post-op
  if (accumulate) {                                       // C = alpha · A B + C
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(p.a, p.b, p.c), attr, onednn_cpu_engine());
  p.primitive = dnnl::matmul(pd);
  p.scratchpad = pd.scratchpad_desc();
  return p;
}

// The primitive for these operands (a training run sees a few shapes per padded batch length:
// six products, two query lengths).
const BatchedProduct& cached_product(int64_t B, int64_t H, float alpha, const MatrixBatch& a,
                                     const MatrixBatch& b, bool accumulate, const MatrixBatch& c) {
  static PrimitiveCache<Key, BatchedProduct> cache;
  return cache.get(key_of(B, H, alpha, a, b, accumulate, c),
                   [&] { return make_product(B, H, alpha, a, b, accumulate, c); });
}

void fill_zero(int64_t B, int64_t H, float* c, const MatrixBatch& m) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < m.rows; ++i)
        for (int64_t j = 0; j < m.cols; ++j)
          c[b * m.batch_stride + h * m.head_stride + i * m.row_stride + j * m.col_stride] = 0.0f;
}

}  // namespace

void bf16_batched_product(int64_t B, int64_t H, float alpha, const bf16_bits* a,
                          const MatrixBatch& a_layout, const bf16_bits* b,
                          const MatrixBatch& b_layout, float beta, float* c,
                          const MatrixBatch& c_layout) {
  check_layouts(a_layout, b_layout, c_layout);
  if (beta != 0.0f && beta != 1.0f) throw Error("bf16_batched_product: beta must be 0 or 1");
  if (B == 0 || H == 0 || c_layout.rows == 0 || c_layout.cols == 0) return;
  if (a_layout.cols == 0) {  // an empty sum: C = beta · C, as cblas_sgemm does with K = 0
    if (beta == 0.0f) fill_zero(B, H, c, c_layout);
    return;
  }
  const BatchedProduct& p = cached_product(B, H, alpha, a_layout, b_layout, beta != 0.0f, c_layout);
  run_onednn_matmul(p.primitive, p.a, a, p.b, b, p.c, c, p.scratchpad);
}

#else  // built without oneDNN

void bf16_batched_product(int64_t, int64_t, float, const bf16_bits*, const MatrixBatch& a,
                          const bf16_bits*, const MatrixBatch& b, float, float*,
                          const MatrixBatch& c) {
  check_layouts(a, b, c);
  throw Error("bf16_batched_product: this build has no oneDNN");
}

#endif

}  // namespace ag
