// Validating a safetensors header: the 8-byte length, the JSON, every tensor entry, and that the
// tensors tile the data section. The reader (safetensors.cpp) trusts no offset before this.
#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "core/errors.h"
#include "core/io/safetensors.h"
#include "core/io/safetensors_detail.h"

namespace ag::safetensors::detail {

namespace {

// --- reading: one function per validation step -------------------------------------------------

// Step 1: the first 8 bytes are the header length N. Check it against the file size before
// anything is allocated for the header.
uint64_t read_header_length(const std::string& bytes, const std::string& path) {
  if (bytes.size() < kHeaderLengthBytes) {
    throw FormatError(path, "byte 0",
                      "file is " + std::to_string(bytes.size()) +
                          " bytes, too short for the 8-byte header length; expected a "
                          "safetensors file");
  }
  const uint64_t header_length = read_u64_little_endian(bytes.data());
  const uint64_t rest = bytes.size() - kHeaderLengthBytes;
  if (header_length > kMaxHeaderBytes) {
    throw FormatError(path, "header length at byte 0",
                      "value " + std::to_string(header_length) + " exceeds the limit of " +
                          std::to_string(kMaxHeaderBytes) +
                          " bytes; not a safetensors file, or corrupted");
  }
  if (header_length > rest) {
    throw FormatError(path, "header length at byte 0",
                      "value " + std::to_string(header_length) + " is larger than the " +
                          std::to_string(rest) +
                          " bytes that follow it; the file is truncated or corrupted");
  }
  return header_length;
}

// Step 2a: before the header is parsed into a json value, one pass over its tokens rejects
// repeated keys (nlohmann::json would keep only one value of a repeated key) and more than
// kMaxTensors entries, at the entry that crosses the limit. Only nlohmann's SAX interface is
// used: each event costs O(log n), so the pass is linear in the header size up to that factor.
// (A parser callback would do it in one pass, but nlohmann's callback parser scans the whole
// parent object at every end of an object: quadratic, minutes for 50,000 tensors.)
class HeaderKeyChecker : public json::json_sax_t {
 public:
  explicit HeaderKeyChecker(const std::string& path) : path_(path) {}

  bool start_object(std::size_t) override {
    open_.push_back({open_.empty() ? std::string() : last_key_, {}});
    return true;
  }
  bool end_object() override {
    open_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    open_.push_back({});  // keeps the stack in step; arrays have no keys
    return true;
  }
  bool end_array() override {
    open_.pop_back();
    return true;
  }
  bool key(string_t& name) override {
    last_key_ = name;
    Open& object = open_.back();
    if (!object.keys_seen.insert(name).second) {
      if (open_.size() == 1)
        throw FormatError(path_, "header key " + in_quotes(name),
                          "appears more than once; expected unique tensor names");
      throw FormatError(path_, "header entry " + in_quotes(object.name),
                        "key " + in_quotes(name) + " appears more than once");
    }
    if (open_.size() == 1 && name != "__metadata__" && ++tensors_ > kMaxTensors)
      throw FormatError(path_, "header key " + in_quotes(name),
                        "is tensor number " + std::to_string(tensors_) + ", more than the " +
                            std::to_string(kMaxTensors) +
                            " this reader accepts in one file; corrupted or not a model?");
    return true;
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  // A syntax error ends this pass; the full parse that follows reports it with its offset.
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  struct Open {
    std::string name;  // the key whose value this object is ("" for the header itself)
    std::set<std::string> keys_seen;
  };
  const std::string& path_;
  std::vector<Open> open_;
  std::string last_key_;
  uint64_t tensors_ = 0;
};

// Step 2b: the header is a JSON object (possibly followed by padding spaces, which JSON allows
// as whitespace), parsed once its keys have passed step 2a.
json parse_header_json(std::string_view header, const std::string& path) {
  if (header.empty() || header.front() != '{') {
    throw FormatError(
        path, "header at byte 8",
        "expected a JSON object starting with '{', found " +
            (header.empty() ? std::string("an empty header") : in_quotes(header.substr(0, 20))));
  }
  HeaderKeyChecker checker(path);
  try {
    json::sax_parse(header, &checker);
  } catch (const json::exception&) {
    // Reported by the parse below, which throws the same error with its details.
  }

  try {
    return json::parse(header);
  } catch (const json::parse_error& e) {
    // e.byte counts from 1 within the header; the header starts at file offset 8.
    const uint64_t file_offset = kHeaderLengthBytes + (e.byte > 0 ? e.byte - 1 : 0);
    std::string reason = e.what();
    if (auto colon = reason.find("] "); colon != std::string::npos) reason.erase(0, colon + 2);
    throw FormatError(path, "header, byte offset " + std::to_string(file_offset),
                      "invalid JSON: " + printable(reason));
  } catch (const json::exception& e) {
    // Not a syntax error but still bad JSON, e.g. out_of_range.406 for a number too large for
    // a double ("1e400"), which the parser reports without a byte offset.
    std::string reason = e.what();
    if (auto colon = reason.find("] "); colon != std::string::npos) reason.erase(0, colon + 2);
    throw FormatError(path, "header at byte 8", "invalid JSON: " + printable(reason));
  }
}

// Step 3a: "__metadata__" must map strings to strings.
std::map<std::string, std::string> read_metadata(const json& value, const std::string& path) {
  if (!value.is_object()) {
    throw FormatError(path, "header key \"__metadata__\"",
                      "expected an object of string values, found " + describe_json(value));
  }
  std::map<std::string, std::string> metadata;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      throw FormatError(path, "__metadata__ key " + in_quotes(key),
                        "expected a string value, found " + describe_json(item));
    }
    metadata[key] = item.get<std::string>();
  }
  return metadata;
}

// A non-negative JSON integer. nlohmann stores non-negative integers as "unsigned" and negative
// ones as "integer"; 2.0 or 1e3 are floats, which the format does not allow.
uint64_t read_unsigned(const json& value, const std::string& path, const std::string& location,
                       const std::string& what) {
  if (!value.is_number_unsigned()) {
    throw FormatError(path, location,
                      what + " must be a non-negative integer, found " + describe_json(value));
  }
  return value.get<uint64_t>();
}

// Step 3b: one tensor entry {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}.
TensorInfo read_tensor_entry(const std::string& name, const json& entry, const std::string& path) {
  const std::string where = tensor_location(name);
  if (!entry.is_object()) {
    throw FormatError(
        path, where,
        "expected an object with dtype, shape and data_offsets, found " + describe_json(entry));
  }
  for (const auto& [key, value] : entry.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      throw FormatError(
          path, where,
          "unexpected key " + in_quotes(key) + "; expected only dtype, shape and data_offsets");
    }
  }
  for (const char* required : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(required)) {
      throw FormatError(path, where, std::string("missing required key \"") + required + "\"");
    }
  }

  TensorInfo info;
  info.name = name;

  const json& dtype = entry["dtype"];
  if (!dtype.is_string() || !parse_dtype(dtype.get<std::string>(), info.dtype)) {
    throw FormatError(path, where,
                      "unknown or unsupported dtype " + describe_json(dtype) +
                          "; expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL");
  }

  const json& shape = entry["shape"];
  if (!shape.is_array()) {
    throw FormatError(path, where, "shape must be an array, found " + describe_json(shape));
  }
  for (size_t i = 0; i < shape.size(); ++i) {
    const std::string what = "shape[" + std::to_string(i) + "]";
    const uint64_t dim = read_unsigned(shape[i], path, where, what);
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw FormatError(path, where, what + " = " + std::to_string(dim) + " is too large");
    }
    info.shape.push_back(static_cast<int64_t>(dim));
  }

  const json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) {
    throw FormatError(path, where,
                      "data_offsets must be an array [begin, end] of two integers, found " +
                          describe_json(offsets));
  }
  info.begin = read_unsigned(offsets[0], path, where, "data_offsets[0]");
  info.end = read_unsigned(offsets[1], path, where, "data_offsets[1]");
  if (info.begin > info.end) {
    throw FormatError(path, where,
                      "data_offsets [" + std::to_string(info.begin) + ", " +
                          std::to_string(info.end) + "] end before they begin");
  }

  // numel() (and any Tensor built from this shape) multiplies the dimensions in order as
  // int64: the product of the non-zero ones must fit. A zero dimension makes the byte count
  // below 0 whatever the others are, so that check alone does not bound them.
  uint64_t nonzero_elements = 1;
  for (int64_t dim : info.shape) {
    if (dim == 0) continue;
    if (!multiply_checked(nonzero_elements, static_cast<uint64_t>(dim), nonzero_elements) ||
        nonzero_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw FormatError(path, where,
                        "shape " + shape_string(info.shape) +
                            " is too large: its element count overflows 64 bits");
    }
  }

  // The byte range must hold exactly numel(shape) elements of the dtype.
  const uint64_t element_size = dtype_size(info.dtype);
  uint64_t expected_bytes = 0;
  if (!byte_count_checked(info.shape, element_size, expected_bytes)) {
    throw FormatError(
        path, where,
        "shape " + shape_string(info.shape) + " is too large: its size in bytes overflows 64 bits");
  }
  if (info.end - info.begin != expected_bytes) {
    throw FormatError(path, where,
                      "data_offsets [" + std::to_string(info.begin) + ", " +
                          std::to_string(info.end) + "] cover " +
                          std::to_string(info.end - info.begin) + " bytes, but dtype " +
                          std::string(dtype_name(info.dtype)) + " with shape " +
                          shape_string(info.shape) + " needs " + std::to_string(expected_bytes));
  }
  return info;
}

// Step 4: sorted by offset, the tensors must tile the data section exactly: the first begins at
// 0, each begins where the previous ended (no gap, no overlap), the last ends at its end.
void check_tensors_tile_data_section(const std::vector<TensorInfo>& tensors, uint64_t data_size,
                                     uint64_t data_start, const std::string& path) {
  uint64_t expected_begin = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo& tensor : tensors) {
    const std::string range =
        "[" + std::to_string(tensor.begin) + ", " + std::to_string(tensor.end) + "]";
    if (tensor.begin < expected_begin) {
      throw FormatError(path, tensor_location(tensor.name),
                        "data_offsets " + range + " overlap tensor " + in_quotes(previous->name) +
                            " which ends at " + std::to_string(expected_begin) +
                            "; expected begin " + std::to_string(expected_begin));
    }
    if (tensor.begin > expected_begin) {
      throw FormatError(path, tensor_location(tensor.name),
                        "data_offsets " + range + " leave a gap: bytes [" +
                            std::to_string(expected_begin) + ", " + std::to_string(tensor.begin) +
                            ") belong to no tensor; expected begin " +
                            std::to_string(expected_begin));
    }
    expected_begin = tensor.end;
    previous = &tensor;
  }

  if (expected_begin > data_size) {
    throw FormatError(path, tensor_location(previous->name),
                      "data_offsets end at " + std::to_string(expected_begin) +
                          ", past the end of the data section (" + std::to_string(data_size) +
                          " bytes); the file is truncated or the offsets are wrong");
  }
  if (expected_begin < data_size) {
    throw FormatError(path, "byte offset " + std::to_string(data_start + expected_begin),
                      std::to_string(data_size - expected_begin) +
                          " trailing bytes after the last tensor" +
                          (previous ? " (" + in_quotes(previous->name) + ")" : std::string()) +
                          "; expected the file to end there");
  }
}

}  // namespace

Header read_header(const std::string& bytes, const std::string& path) {
  const uint64_t header_length = read_header_length(bytes, path);
  const std::string_view header_text(bytes.data() + kHeaderLengthBytes, header_length);
  const json parsed = parse_header_json(header_text, path);
  if (!parsed.is_object()) {
    throw FormatError(path, "header at byte 8", "expected a JSON object");
  }

  Header header;
  for (const auto& [key, value] : parsed.items()) {
    if (key == "__metadata__") {
      header.metadata = read_metadata(value, path);
    } else {
      header.tensors.push_back(read_tensor_entry(key, value, path));
    }
  }

  // Order by position in the data section (ties: zero-byte tensors first, then by name).
  std::sort(header.tensors.begin(), header.tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) {
              return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
            });
  header.data_start = kHeaderLengthBytes + header_length;
  check_tensors_tile_data_section(header.tensors, bytes.size() - header.data_start,
                                  header.data_start, path);
  return header;
}

}  // namespace ag::safetensors::detail
