// Internal helpers shared by the safetensors reader (safetensors.cpp, safetensors_header.cpp,
// safetensors_dtype.cpp) and writer (safetensors_write.cpp): the dtype table, message
// formatting, checked size arithmetic.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.h"
#include "core/io/safetensors.h"

namespace ag::safetensors::detail {

using nlohmann::json;

// The reference implementation refuses headers above 100 MB; so do we, before allocating.
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// Real checkpoints hold hundreds to a few thousand tensors per file; a header listing more than
// this is refused while it is read, before it is parsed into memory.
inline constexpr uint64_t kMaxTensors = 100'000;
inline constexpr uint64_t kHeaderLengthBytes = 8;

// --- dtypes -----------------------------------------------------------------------------------

struct DTypeDescription {
  DType dtype;
  std::string_view name;
  uint64_t size;
  // Python's safetensors orders tensors in the file by this rank, highest first (it is the
  // position of the dtype in the Rust `Dtype` enum), so that 8-byte types come first and
  // every tensor starts aligned to its element size.
  int write_order_rank;
};

inline constexpr DTypeDescription kDTypes[] = {
    {DType::F64, "F64", 8, 8},   {DType::F32, "F32", 4, 7}, {DType::F16, "F16", 2, 4},
    {DType::BF16, "BF16", 2, 5}, {DType::I64, "I64", 8, 9}, {DType::I32, "I32", 4, 6},
    {DType::I16, "I16", 2, 3},   {DType::I8, "I8", 1, 2},   {DType::U8, "U8", 1, 1},
    {DType::BOOL, "BOOL", 1, 0},
};

inline const DTypeDescription& describe(DType dtype) {
  for (const DTypeDescription& d : kDTypes)
    if (d.dtype == dtype) return d;
  throw Error("safetensors: invalid DType value " + std::to_string(static_cast<int>(dtype)));
}

// --- message helpers --------------------------------------------------------------------------

// Appends `byte` as the escape \xNN (e.g. a newline becomes \x0a).
inline void append_hex_escape(std::string& out, unsigned char byte) {
  const char hex[] = "0123456789abcdef";
  out += "\\x";
  out += hex[byte >> 4];
  out += hex[byte & 15];
}

// Puts `text` in double quotes for an error message, escaping anything that would break the
// message's single line, and shortening very long names. UTF-8 names are shown as they are.
inline std::string in_quotes(std::string_view text) {
  constexpr size_t kMaxShown = 200;
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const unsigned char byte = static_cast<unsigned char>(text[i]);
    if (byte == '"' || byte == '\\') {
      out += '\\';
      out += text[i];
    } else if (byte < 0x20 || byte == 0x7F) {
      append_hex_escape(out, byte);
    } else {
      out += text[i];
    }
  }
  if (text.size() > kMaxShown) out += "...";
  return out + "\"";
}

inline std::string tensor_location(std::string_view name) {
  return "tensor " + in_quotes(name);
}

inline std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// A short description of a JSON value for "found ..." in messages: scalars are shown, arrays
// and objects only by type (printing them could be huge, and is recursive).
inline std::string describe_json(const json& value) {
  if (value.is_structured()) return std::string("an ") + value.type_name();
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 60) + "...";
  return text;
}

// nlohmann's parse errors end with the raw bytes it last read, which may contain newlines or
// invalid UTF-8: escape everything but printable ASCII so the message stays one clean line.
inline std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const unsigned char byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7F) {
      out += c;
    } else {
      append_hex_escape(out, byte);
    }
  }
  return out;
}

// a * b, or false if the product does not fit in 64 bits.
inline bool multiply_checked(uint64_t a, uint64_t b, uint64_t& product) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  product = a * b;
  return true;
}

// numel(shape) * element_size, or false on overflow. An empty shape is a scalar (1 element).
inline bool byte_count_checked(const std::vector<int64_t>& shape, uint64_t element_size,
                               uint64_t& bytes) {
  bytes = element_size;
  for (int64_t dim : shape)
    if (dim < 0 || !multiply_checked(bytes, static_cast<uint64_t>(dim), bytes)) return false;
  return true;
}

inline uint64_t read_u64_little_endian(const char* p) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(p[i]);
  return value;
}

// --- the validated header (safetensors_header.cpp) ---------------------------------------------

struct Header {
  std::map<std::string, std::string> metadata;
  std::vector<TensorInfo> tensors;  // in the order of their data in the file
  uint64_t data_start = 0;          // offset of the data section: 8 + header length
};

// Checks every rule of the format on the file held in `bytes` (`path` names it in errors) and
// returns its header. Throws ag::FormatError at the first broken rule.
Header read_header(const std::string& bytes, const std::string& path);

template <typename T>
T load(const char* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));  // memcpy: the data need not be aligned
  return value;
}

}  // namespace ag::safetensors::detail
