#include "core/tensor.h"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "core/autograd.h"
#include "core/bf16_gemm.h"
#include "core/errors.h"

namespace ag {

int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string to_string(const Shape& shape) {
  std::ostringstream out;
  out << "(";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ")";
  return out.str();
}

Tensor Tensor::empty(const Shape& shape) {
  for (int64_t d : shape)
    if (d < 0) throw ShapeError("negative dimension in shape " + to_string(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(ag::numel(shape));
  impl->shape = shape;
  return Tensor(impl);
}

Tensor Tensor::zeros(const Shape& shape) {
  return full(shape, 0.0f);
}
Tensor Tensor::ones(const Shape& shape) {
  return full(shape, 1.0f);
}

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  t.fill_(value);
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values) {
  if (ag::numel(shape) != int64_t(values.size()))
    throw ShapeError("from_vector: shape " + to_string(shape) + " needs " +
                     std::to_string(ag::numel(shape)) + " values, got " +
                     std::to_string(values.size()));
  Tensor t = empty(shape);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

const Shape& Tensor::shape() const {
  if (!impl_) throw Error("use of an undefined tensor");
  return impl_->shape;
}

int64_t Tensor::size(int64_t d) const {
  const int64_t n = dim();
  if (d < 0) d += n;
  if (d < 0 || d >= n)
    throw ShapeError("dimension " + std::to_string(d) + " out of range for shape " +
                     to_string(shape()));
  return shape()[d];
}

float* Tensor::data() const {
  if (!impl_) throw Error("use of an undefined tensor");
  if (!impl_->storage)
    throw Error("tensor " + (impl_->name.empty() ? std::string("(unnamed)") : impl_->name) +
                " keeps only its bf16 copy (a frozen weight of a bf16 run): its fp32 values " +
                "were released; use --precision fp32 for this");
  return impl_->storage->data + impl_->offset;
}

float Tensor::item() const {
  if (numel() != 1) throw ShapeError("item() needs one element, shape is " + to_string(shape()));
  return data()[0];
}

std::vector<float> Tensor::to_vector() const {
  return std::vector<float>(data(), data() + numel());
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape());
  std::memcpy(t.data(), data(), sizeof(float) * numel());
  t.impl_->name = impl_->name;
  return t;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>(*impl_);
  impl->requires_grad = false;
  impl->grad = nullptr;
  impl->grad_fn = nullptr;
  return Tensor(impl);
}

void Tensor::copy_(const Tensor& other) const {
  if (other.numel() != numel())
    throw ShapeError("copy_: cannot copy " + to_string(other.shape()) + " into " +
                     to_string(shape()));
  std::memmove(data(), other.data(), sizeof(float) * numel());
  refresh_bf16_copy(*this);
}

void Tensor::copy_(const std::vector<float>& values) const {
  if (int64_t(values.size()) != numel())
    throw ShapeError("copy_: cannot copy " + std::to_string(values.size()) + " values into " +
                     to_string(shape()));
  std::copy(values.begin(), values.end(), data());
  refresh_bf16_copy(*this);
}

void Tensor::fill_(float value) const {
  std::fill_n(data(), numel(), value);
  refresh_bf16_copy(*this);
}

bool Tensor::requires_grad() const {
  return impl_ && impl_->requires_grad;
}

const Tensor& Tensor::set_requires_grad(bool value) const {
  if (impl_->grad_fn && !value)
    throw Error("set_requires_grad(false) on a non-leaf tensor; use detach()");
  impl_->requires_grad = value;
  return *this;
}

bool Tensor::is_leaf() const {
  return impl_->grad_fn == nullptr;
}

Tensor Tensor::grad() const {
  return impl_->grad ? Tensor(impl_->grad) : Tensor();
}

void Tensor::zero_grad() const {
  impl_->grad = nullptr;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  return impl_->grad_fn;
}

void Tensor::backward() const {
  if (numel() != 1)
    throw ShapeError("backward() without a gradient needs a scalar, shape is " +
                     to_string(shape()));
  run_backward(*this, Tensor::ones(shape()));
}

void Tensor::backward(const Tensor& output_grad) const {
  run_backward(*this, output_grad);
}

const std::string& Tensor::name() const {
  return impl_->name;
}

const Tensor& Tensor::set_name(const std::string& name) const {
  impl_->name = name;
  return *this;
}

bool Tensor::same_storage(const Tensor& other) const {
  return impl_ && other.impl_ && impl_->storage == other.impl_->storage;
}

}  // namespace ag
