// Tensor: a float32, contiguous, n-dimensional array with an optional autograd history.
//
// A Tensor is a cheap handle (one shared_ptr) to a TensorImpl. Copying a Tensor shares the
// data, exactly like `b = a` in PyTorch; `clone()` makes a deep copy. The fields that autograd
// needs live here too: `requires_grad`, the accumulated `grad`, and `grad_fn`, the Node that
// produced this tensor (empty for leaves such as parameters and inputs).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace ag {

using Shape = std::vector<int64_t>;

int64_t numel(const Shape& shape);
std::string to_string(const Shape& shape);

// A block of floats, 64-byte aligned (one cache line, one AVX-512 register), uninitialised.
// Freed blocks go back to a small size-keyed cache so that a training step reuses the
// buffers of the step before instead of asking the system allocator again (see storage.cpp).
struct Storage {
  explicit Storage(int64_t size);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  float* data;
  int64_t size;
  // False for a block that must go back to the system when freed instead of into the cache (a
  // weight's fp32 values released for good: nothing will ask for that size again).
  bool reuse_when_freed = true;
};

struct Node;
struct Bf16Matrix;  // core/bf16_gemm.h

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // first element inside storage (reshaped views share storage)
  Shape shape;
  std::string name;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // dL/dthis, accumulated by backward() on leaves
  std::shared_ptr<Node> grad_fn;     // the op that produced this tensor (null for leaves)
  // A weight's bf16 copy, multiplied in its place by the linear-layer ops (core/bf16_gemm.h).
  std::shared_ptr<Bf16Matrix> bf16;
};

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor: `defined()` is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // --- creation -------------------------------------------------------------------------
  static Tensor empty(const Shape& shape);  // uninitialised values
  static Tensor zeros(const Shape& shape);
  static Tensor ones(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values);
  static Tensor scalar(float value) { return full({}, value); }

  // --- shape and data -------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end, as in PyTorch
  int64_t numel() const { return ag::numel(shape()); }
  float* data() const;  // shallow constness, like a pointer: the handle is const, not the data
  float item() const;   // the single value of a one-element tensor
  std::vector<float> to_vector() const;

  // A deep copy of the values, with no autograd history and requires_grad false.
  Tensor clone() const;
  // Shares the values but has no history: gradients stop here (torch's `detach`).
  Tensor detach() const;
  // Copies values from `other` (same numel) into this tensor's storage, outside autograd.
  void copy_(const Tensor& other) const;
  // The same from numel() values read from a file (a checkpoint, weights, an adapter). Both
  // refresh a weight's bf16 copy (core/bf16_gemm.h) to the new values.
  void copy_(const std::vector<float>& values) const;
  void fill_(float value) const;

  // --- autograd -------------------------------------------------------------------------
  bool requires_grad() const;
  const Tensor& set_requires_grad(bool value) const;
  bool is_leaf() const;
  Tensor grad() const;     // undefined until backward() wrote a gradient into this leaf
  void zero_grad() const;  // drops the gradient (set_to_none semantics, as torch's default)
  const std::shared_ptr<Node>& grad_fn() const;
  // Reverse-mode differentiation from this scalar (or with an explicit output gradient).
  void backward() const;
  void backward(const Tensor& output_grad) const;

  // --- bookkeeping ----------------------------------------------------------------------
  const std::string& name() const;
  const Tensor& set_name(const std::string& name) const;
  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  bool same_storage(const Tensor& other) const;
  // The bf16 copy the linear-layer ops multiply instead of this weight, or null (fp32).
  const Bf16Matrix* bf16_copy() const { return impl_ ? impl_->bf16.get() : nullptr; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Integer tensor for token ids, attention masks and labels (never differentiated).
struct Indices {
  Shape shape;
  std::vector<int32_t> values;
  int64_t numel() const { return static_cast<int64_t>(values.size()); }
};

}  // namespace ag
