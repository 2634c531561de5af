// Embedding lookup, reshape (a view), select and transpose.
#include <cstring>

#include "core/autograd.h"
#include "core/errors.h"
#include "core/ops.h"
#include "core/ops_util.h"
#include "core/profiler.h"

namespace ag {

constexpr OpKind kEmbeddingOp{"embedding", OpFamily::kElementwise};

// The input of an embedding node: the table (the ids are not differentiated).
enum class EmbeddingSlot : size_t { kTable };

// out (..., D) = table[ids] with table (V, D).
// Backward: dtable[ids[i]] += dout[i] — a scatter-add; rows may repeat, so threads split the
// D columns rather than the rows. The node exists only when the table requires a gradient.
Tensor embedding(const Indices& ids, const Tensor& table, int64_t padding_idx) {
  ProfileScope profile(kEmbeddingOp);
  if (table.dim() != 2)
    throw ShapeError("embedding: table must be (V, D), got " + to_string(table.shape()));
  const int64_t V = table.size(0), D = table.size(1), N = ids.numel();
  for (int64_t i = 0; i < N; ++i)
    if (ids.values[i] < 0 || ids.values[i] >= V)
      throw Error("embedding: id " + std::to_string(ids.values[i]) + " at position " +
                  std::to_string(i) + " is outside the table's " + std::to_string(V) + " rows");
  Shape shape = ids.shape;
  shape.push_back(D);
  Tensor out = Tensor::empty(shape);
  const float* pt = table.data();
  float* po = out.data();
#pragma omp parallel for if (N * D > kParallelGrain)
  for (int64_t i = 0; i < N; ++i)
    std::memcpy(po + i * D, pt + int64_t(ids.values[i]) * D, D * sizeof(float));
  if (auto node = record(kEmbeddingOp, {table}, out)) {
    node->backward_fn = [ids = ids.values, V, D, padding_idx](Node& n) {
      GradBuffer dt = n.grad_for(EmbeddingSlot::kTable);
      if (!dt.accumulate) std::memset(dt.data, 0, sizeof(float) * V * D);
      const float* g = n.grad.data();
      const int64_t N = int64_t(ids.size());
#pragma omp parallel for if (N * D > kParallelGrain)
      for (int64_t j = 0; j < D; ++j)
        for (int64_t i = 0; i < N; ++i)
          if (ids[i] != padding_idx) dt.data[int64_t(ids[i]) * D + j] += g[i * D + j];
    };
  }
  return out;
}

Tensor reshape(const Tensor& x, Shape shape) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1 && infer < 0)
      infer = int64_t(i);
    else if (shape[i] < 0)
      throw ShapeError("reshape: bad target shape " + to_string(shape));
    else
      known *= shape[i];
  }
  if (infer >= 0 && known > 0 && x.numel() % known == 0) shape[infer] = x.numel() / known;
  if (numel(shape) != x.numel())
    throw ShapeError("reshape: cannot view " + to_string(x.shape()) + " as " + to_string(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = x.impl()->storage;
  impl->offset = x.impl()->offset;
  impl->shape = shape;
  Tensor y(impl);
  if (auto node = record("reshape", {x}, y)) {
    node->backward_fn = [n = x.numel()](Node& nd) {
      accumulate(nd.grad_for(UnarySlot::kX), nd.grad.data(), n);
    };
  }
  return y;
}

// x viewed as (outer, size, inner); out (outer, inner) = x[:, index, :].
Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  if (dim < 0) dim += x.dim();
  if (dim < 0 || dim >= x.dim() || index < 0 || index >= x.size(dim))
    throw ShapeError("select: index " + std::to_string(index) + " of dimension " +
                     std::to_string(dim) + " is outside shape " + to_string(x.shape()));
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < dim; ++i) outer *= x.size(i);
  for (int64_t i = dim + 1; i < x.dim(); ++i) inner *= x.size(i);
  const int64_t size = x.size(dim);
  Shape shape = x.shape();
  shape.erase(shape.begin() + dim);
  Tensor y = Tensor::empty(shape);
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(y.data() + o * inner, x.data() + (o * size + index) * inner, inner * sizeof(float));
  if (auto node = record("select", {x}, y)) {
    node->backward_fn = [outer, inner, size, index](Node& n) {
      GradBuffer dx = n.grad_for(UnarySlot::kX);
      if (!dx.accumulate) std::memset(dx.data, 0, sizeof(float) * outer * size * inner);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < inner; ++j)
          dx.data[(o * size + index) * inner + j] += n.grad.data()[o * inner + j];
    };
  }
  return y;
}

// (R, C) -> (C, R); backward transposes the gradient back.
Tensor transpose2d(const Tensor& x) {
  if (x.dim() != 2) throw ShapeError("transpose2d: needs (R, C), got " + to_string(x.shape()));
  const int64_t R = x.size(0), C = x.size(1);
  Tensor y = Tensor::empty({C, R});
  for (int64_t i = 0; i < R; ++i)
    for (int64_t j = 0; j < C; ++j) y.data()[j * R + i] = x.data()[i * C + j];
  if (auto node = record("transpose2d", {x}, y)) {
    node->backward_fn = [R, C](Node& n) {
      GradBuffer dx = n.grad_for(UnarySlot::kX);
      const float* g = n.grad.data();
      for (int64_t i = 0; i < R; ++i)
        for (int64_t j = 0; j < C; ++j)
          dx.data[i * C + j] = (dx.accumulate ? dx.data[i * C + j] : 0.0f) + g[j * R + i];
    };
  }
  return y;
}

}  // namespace ag
