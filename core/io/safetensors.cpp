// Reading safetensors files: the File class (the header checks are in safetensors_header.cpp,
// the dtype conversions in safetensors_dtype.cpp).
#include "core/io/safetensors.h"

#include <bit>
#include <cmath>
#include <cstring>

#include "core/errors.h"
#include "core/io/read_file.h"
#include "core/io/safetensors_detail.h"

namespace ag::safetensors {

// safetensors stores numbers little-endian; this code copies them to memory as they are.
static_assert(std::endian::native == std::endian::little, "adaptgrad assumes a little-endian CPU");

using namespace detail;

// --- File -------------------------------------------------------------------------------------

File File::open(const std::string& path) {
  return open_from_buffer(read_file(path, kWeightsFile), path);
}

File File::open_from_buffer(std::string bytes, std::string display_name) {
  File file;
  file.path_ = std::move(display_name);
  file.bytes_ = std::move(bytes);
  Header header = read_header(file.bytes_, file.path_);
  file.metadata_ = std::move(header.metadata);
  file.tensors_ = std::move(header.tensors);
  file.data_start_ = header.data_start;
  for (size_t i = 0; i < file.tensors_.size(); ++i) file.index_[file.tensors_[i].name] = i;
  return file;
}

const TensorInfo& File::info(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    throw FormatError(
        path_, tensor_location(name),
        "no such tensor; the file has " + std::to_string(tensors_.size()) + " tensors");
  }
  return tensors_[it->second];
}

std::string_view File::raw_bytes(const std::string& name) const {
  const TensorInfo& tensor = info(name);
  return std::string_view(bytes_.data() + data_start_ + tensor.begin, tensor.nbytes());
}

std::vector<float> File::read_f32(const std::string& name) const {
  const TensorInfo& tensor = info(name);
  const char* data = bytes_.data() + data_start_ + tensor.begin;
  const size_t count = static_cast<size_t>(tensor.numel());
  std::vector<float> values(count);
  switch (tensor.dtype) {
    case DType::F32:
      if (count > 0) std::memcpy(values.data(), data, count * sizeof(float));
      break;
    case DType::F16:
      for (size_t i = 0; i < count; ++i)
        values[i] = f16_bits_to_float(load<uint16_t>(data + 2 * i));
      break;
    case DType::BF16:
      for (size_t i = 0; i < count; ++i)
        values[i] = bf16_bits_to_float(load<uint16_t>(data + 2 * i));
      break;
    case DType::F64:
      for (size_t i = 0; i < count; ++i) values[i] = f64_to_f32_rounded(load<double>(data + 8 * i));
      break;
    default:
      throw FormatError(path_, tensor_location(name),
                        "expected a floating-point dtype (F64, F32, F16 or BF16) to read as "
                        "float, found " +
                            std::string(dtype_name(tensor.dtype)));
  }
  return values;
}

std::vector<float> File::read_finite_f32(const std::string& name) const {
  std::vector<float> values = read_f32(name);
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      throw FormatError(path_, tensor_location(name),
                        "holds " + std::string(std::isnan(values[i]) ? "NaN" : "Inf") +
                            " at element " + std::to_string(i) +
                            " (weights must be finite numbers)");
  return values;
}

std::vector<int64_t> File::read_i64(const std::string& name) const {
  const TensorInfo& tensor = info(name);
  const char* data = bytes_.data() + data_start_ + tensor.begin;
  const size_t count = static_cast<size_t>(tensor.numel());
  std::vector<int64_t> values(count);
  switch (tensor.dtype) {
    case DType::I64:
      if (count > 0) std::memcpy(values.data(), data, count * sizeof(int64_t));
      break;
    case DType::I32:
      for (size_t i = 0; i < count; ++i) values[i] = load<int32_t>(data + 4 * i);
      break;
    case DType::I16:
      for (size_t i = 0; i < count; ++i) values[i] = load<int16_t>(data + 2 * i);
      break;
    case DType::I8:
      for (size_t i = 0; i < count; ++i)
        values[i] = static_cast<int64_t>(load<int8_t>(data + i));  // sign-extends
      break;
    case DType::U8:
      for (size_t i = 0; i < count; ++i) values[i] = load<uint8_t>(data + i);
      break;
    case DType::BOOL:
      for (size_t i = 0; i < count; ++i) {
        const uint8_t byte = load<uint8_t>(data + i);
        if (byte > 1) {
          throw FormatError(path_, "byte offset " + std::to_string(data_start_ + tensor.begin + i),
                            "BOOL tensor " + in_quotes(name) + " holds " + std::to_string(byte) +
                                "; expected 0 or 1");
        }
        values[i] = byte;
      }
      break;
    default:
      throw FormatError(path_, tensor_location(name),
                        "expected an integer or BOOL dtype to read as int64, found " +
                            std::string(dtype_name(tensor.dtype)));
  }
  return values;
}

}  // namespace ag::safetensors
