#include "nn/layers.h"

#include "core/errors.h"
#include "core/ops.h"
#include "core/rng.h"

namespace ag::nn {
namespace {
thread_local bool g_skip_init = false;
}  // namespace

SkipInit::SkipInit() : previous_(g_skip_init) {
  g_skip_init = true;
}
SkipInit::~SkipInit() {
  g_skip_init = previous_;
}
bool SkipInit::active() {
  return g_skip_init;
}

void init_normal(const Tensor& t, float std) {
  if (!SkipInit::active()) fill_normal(t, 0.0f, std);
}

static Tensor constant(const Shape& shape, float value) {
  return SkipInit::active() ? Tensor::empty(shape) : Tensor::full(shape, value);
}

Linear::Linear(int64_t in, int64_t out, bool has_bias, float init_std) : Module("Linear") {
  if (in <= 0 || out <= 0)
    throw Error("Linear: sizes must be positive, got in=" + std::to_string(in) +
                " out=" + std::to_string(out));
  weight = register_parameter("weight", Tensor::empty({out, in}));
  init_normal(weight, init_std);
  if (has_bias) bias = register_parameter("bias", constant({out}, 0.0f));
}

Tensor Linear::forward(const Tensor& x) {
  return linear(x, weight, bias);
}

Embedding::Embedding(int64_t n, int64_t dim, float init_std, int64_t padding_idx)
    : Module("Embedding"), padding_idx(padding_idx) {
  if (n <= 0 || dim <= 0)
    throw Error("Embedding: sizes must be positive, got " + std::to_string(n) + " rows of " +
                std::to_string(dim));
  // The padding row is written below: an index outside the table would write past it.
  if (padding_idx < -1 || padding_idx >= n)
    throw Error("Embedding: padding_idx " + std::to_string(padding_idx) + " is outside the " +
                std::to_string(n) + " rows of the table (expected -1 for none, or 0.." +
                std::to_string(n - 1) + ")");
  weight = register_parameter("weight", Tensor::empty({n, dim}));
  init_normal(weight, init_std);
  if (padding_idx >= 0 && !SkipInit::active())  // HF zeroes the padding row at init
    std::fill_n(weight.data() + padding_idx * dim, dim, 0.0f);
}

Tensor Embedding::forward(const Indices& ids) const {
  return embedding(ids, weight, padding_idx);
}

LayerNorm::LayerNorm(int64_t dim, float eps_) : Module("LayerNorm"), eps(eps_) {
  weight = register_parameter("weight", constant({dim}, 1.0f));
  bias = register_parameter("bias", constant({dim}, 0.0f));
}

Tensor LayerNorm::forward(const Tensor& x) {
  return layer_norm(x, weight, bias, eps);
}

Tensor LayerNorm::forward(const Tensor& x, const Tensor& residual) const {
  return add_layer_norm(x, residual, weight, bias, eps);
}

}  // namespace ag::nn
