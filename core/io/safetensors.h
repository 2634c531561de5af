#pragma once
// Reading and writing the safetensors format (Hugging Face's safetensors specification),
// the format of Hugging Face `model.safetensors` checkpoints.
//
// A safetensors file has three parts:
//
//   [ 8 bytes ][ N bytes                                   ][ data section               ]
//     N as a    JSON header, UTF-8, padded with spaces:       the raw little-endian bytes
//     little-   {"__metadata__": {"format": "pt"},            of every tensor, one after the
//     endian    "bias": {"dtype": "F32", "shape": [3],        other, row-major, no gaps
//     uint64    "data_offsets": [0, 12]}, ...}
//
// Each header entry gives a tensor's dtype, its shape and [begin, end), the byte range of its
// data relative to the start of the data section. The optional "__metadata__" entry is a map
// from string to string. The reader below checks every rule of the format before trusting a
// single offset: a truncated or corrupted file gives an ag::FormatError naming the file, the
// key or byte offset, and what was expected -- never a crash or an out-of-bounds read.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ag::safetensors {

// The element types adaptgrad understands (the format also has U16/U32/U64 and 8-bit floats,
// which no checkpoint we load uses; files containing them are rejected as unsupported).
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

// "F32" for DType::F32, and so on: the spelling used in the header.
std::string_view dtype_name(DType dtype);
// The inverse of dtype_name; returns false if `name` is not a supported dtype.
bool parse_dtype(std::string_view name, DType& dtype);
// Bytes per element: 8 for F64/I64, 4 for F32/I32, 2 for F16/BF16/I16, 1 for I8/U8/BOOL.
uint64_t dtype_size(DType dtype);
bool is_floating_point(DType dtype);  // F64, F32, F16, BF16

// One header entry, after validation.
struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;  // [] is a scalar (one element)
  uint64_t begin, end;         // byte range [begin, end) relative to the data section

  int64_t numel() const;
  uint64_t nbytes() const { return end - begin; }
};

// A whole safetensors file, read into memory and validated.
class File {
 public:
  // Reads and validates `path`. Throws ag::Error if it cannot be read and ag::FormatError if
  // its contents break the format.
  static File open(const std::string& path);
  // Same, for bytes already in memory (tests, fuzzing). `display_name` stands in for the path
  // in error messages.
  static File open_from_buffer(std::string bytes, std::string display_name);

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Every tensor, in the order of their data in the file.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }

  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // Throws ag::FormatError naming the file and `name` if there is no such tensor.
  const TensorInfo& info(const std::string& name) const;

  // The values of a floating-point tensor as float: F32 as is, F16 and BF16 exactly (every
  // half and bfloat16 value is a float value), F64 rounded to the nearest float.
  // Integer and bool tensors throw ag::FormatError.
  std::vector<float> read_f32(const std::string& name) const;
  // read_f32 for weights: a NaN or Inf (also a F64 value too large for float) is a
  // FormatError naming the file, the tensor and the first bad element.
  std::vector<float> read_finite_f32(const std::string& name) const;
  // The values of an integer tensor (I64/I32/I16/I8/U8) or BOOL tensor (0 or 1) as int64.
  // Floating-point tensors throw ag::FormatError.
  std::vector<int64_t> read_i64(const std::string& name) const;
  // The tensor's raw little-endian bytes, pointing into this File (valid while it lives).
  std::string_view raw_bytes(const std::string& name) const;

 private:
  File() = default;

  std::string path_;
  std::string bytes_;        // the whole file
  uint64_t data_start_ = 0;  // offset of the data section in bytes_ (8 + header length)
  std::map<std::string, std::string> metadata_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;  // name -> position in tensors_
};

// --- writing ----------------------------------------------------------------------------------

// A tensor to save: `nbytes` little-endian bytes at `data`, which must equal
// numel(shape) * dtype_size(dtype). The data is only read during save().
struct NamedBuffer {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;
  uint64_t nbytes;
};

// Writes a safetensors file byte-identical to what Python's `safetensors` writes for the same
// tensors (tensors ordered by dtype, larger alignment first, then by name; compact JSON header
// padded with spaces to a multiple of 8 bytes; metadata keys sorted). Written atomically: on any
// error the previous file at `path` is left as it was.
// Throws ag::ShapeError if a buffer's size does not match its shape, ag::Error for a bad or
// duplicate name and for I/O errors.
void save(const std::string& path, const std::vector<NamedBuffer>& tensors,
          const std::map<std::string, std::string>& metadata = {});

// Convenience for the common case: float32 tensors held in vectors.
struct F32Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;  // numel(shape) values, row-major
};
void save_f32(const std::string& path, const std::vector<F32Tensor>& tensors,
              const std::map<std::string, std::string>& metadata = {});

// The exact bytes save() would write (for tests and for callers that write elsewhere).
std::string serialize(const std::vector<NamedBuffer>& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      const std::string& display_name = "<buffer>");

// --- exact conversions used by read_f32 (exposed for tests) -----------------------------------
float f16_bits_to_float(uint16_t bits);
float bf16_bits_to_float(uint16_t bits);
float f64_to_f32_rounded(double value);

}  // namespace ag::safetensors
