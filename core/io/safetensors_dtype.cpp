// The dtype table lookups and the exact conversions of F16, BF16 and F64 values to float.
#include <bit>
#include <cmath>
#include <limits>

#include "core/errors.h"
#include "core/io/safetensors.h"
#include "core/io/safetensors_detail.h"

namespace ag::safetensors {

using namespace detail;

// --- dtype helpers ----------------------------------------------------------------------------

std::string_view dtype_name(DType dtype) {
  return describe(dtype).name;
}

bool parse_dtype(std::string_view name, DType& dtype) {
  for (const DTypeDescription& d : kDTypes) {
    if (d.name == name) {
      dtype = d.dtype;
      return true;
    }
  }
  return false;
}

uint64_t dtype_size(DType dtype) {
  return describe(dtype).size;
}

bool is_floating_point(DType dtype) {
  return dtype == DType::F64 || dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t dim : shape) n *= dim;
  return n;
}

// --- exact number conversions -----------------------------------------------------------------

// IEEE half precision: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
// float:               1 sign bit, 8 exponent bits (bias 127), 23 mantissa bits.
// Every half value is exactly a float value; only the layout changes.
float f16_bits_to_float(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1Fu;
  const uint32_t mantissa = bits & 0x3FFu;

  if (exponent == 0x1F) {
    // All-ones exponent: infinity (mantissa 0) or NaN (the payload is kept).
    return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  }
  if (exponent == 0) {
    // Zero or subnormal: the value is mantissa * 2^-24, which a float holds exactly (as a
    // normal number, since float reaches much smaller exponents).
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  // Normal number: re-bias the exponent from 15 to 127 and widen the mantissa.
  return std::bit_cast<float>(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

// bfloat16 is the top half of a float (same exponent, 7 mantissa bits): shift it back up.
float bf16_bits_to_float(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

// double -> float, rounding to nearest even as IEEE does. The only care needed is outside the
// float range, where a plain cast is undefined behaviour in C++: values that round to a finite
// number (below FLT_MAX + half an ulp of it) give +-FLT_MAX, larger ones give +-infinity.
float f64_to_f32_rounded(double value) {
  const float sign = std::signbit(value) ? -1.0f : 1.0f;
  if (std::isnan(value)) return std::copysign(std::numeric_limits<float>::quiet_NaN(), sign);
  const float float_max = std::numeric_limits<float>::max();  // (2 - 2^-23) * 2^127
  // The gap between float_max and the next power of two is one ulp, 2^104; half of it is 2^103.
  const double overflow_threshold = double(float_max) + std::ldexp(1.0, 103);
  const double magnitude = std::fabs(value);
  if (magnitude >= overflow_threshold) return sign * std::numeric_limits<float>::infinity();
  if (magnitude > float_max) return sign * float_max;
  return static_cast<float>(value);
}

}  // namespace ag::safetensors
