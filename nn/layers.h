// The basic layers, with PyTorch's parameter names and layouts.
#pragma once

#include "core/tensor.h"
#include "nn/module.h"

namespace ag::nn {

// While a SkipInit guard lives, layers allocate their parameters without writing any value
// (no page of memory is touched). Used when the values will be overwritten by a checkpoint,
// or never read at all (counting parameters).
class SkipInit {
 public:
  SkipInit();
  ~SkipInit();
  static bool active();

 private:
  bool previous_;
};

// Fills as Hugging Face's _init_weights: normal(0, std) for Linear and Embedding weights.
void init_normal(const Tensor& t, float std);

// y = x Wᵀ + b. weight (out, in), bias (out).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, float init_std = 0.02f);
  Tensor forward(const Tensor& x) override;
  int64_t in_features() const { return weight.size(1); }
  int64_t out_features() const { return weight.size(0); }
  Tensor weight, bias;  // bias is undefined when the layer has none
};

// out = weight[ids]. weight (num_embeddings, dim).
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, float init_std = 0.02f, int64_t padding_idx = -1);
  Tensor forward(const Indices& ids) const;
  Tensor weight;
  int64_t padding_idx;  // −1 for none
};

// y = (x − mean) / √(var + eps) · weight + bias over the last dimension.
class LayerNorm : public Module {
 public:
  LayerNorm(int64_t dim, float eps);
  Tensor forward(const Tensor& x) override;
  // layer_norm(x + residual) in one fused pass.
  Tensor forward(const Tensor& x, const Tensor& residual) const;
  Tensor weight, bias;
  float eps;
};

}  // namespace ag::nn
