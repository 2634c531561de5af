// Writing safetensors files (the reader is safetensors.cpp).
#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/errors.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/io/safetensors_detail.h"

namespace ag::safetensors {

using nlohmann::json;
using namespace detail;

// --- writing ----------------------------------------------------------------------------------

namespace {

// Everything save() needs, computed (and validated) before the file is opened.
struct WritePlan {
  std::string header;                     // JSON, padded with spaces to a multiple of 8 bytes
  std::vector<const NamedBuffer*> order;  // tensors in data-section order
};

// A JSON string literal, escaped exactly like Python's safetensors (serde_json) does it:
// '"', '\\' and control characters escaped, other UTF-8 written as is.
std::string json_string(const std::string& text, const std::string& path,
                        const std::string& location) {
  try {
    return json(text).dump();
  } catch (const json::type_error&) {
    throw Error(path, location, "is not valid UTF-8; safetensors names must be UTF-8");
  }
}

WritePlan plan_file(const std::vector<NamedBuffer>& tensors,
                    const std::map<std::string, std::string>& metadata, const std::string& path) {
  std::set<std::string> names;
  for (const NamedBuffer& tensor : tensors) {
    const std::string where = tensor_location(tensor.name);
    if (tensor.name == "__metadata__") {
      throw Error(path, where, "this name is reserved for the metadata map");
    }
    if (!names.insert(tensor.name).second) throw Error(path, where, "two tensors have this name");
    uint64_t expected_bytes = 0;
    if (!byte_count_checked(tensor.shape, dtype_size(tensor.dtype), expected_bytes)) {
      throw ShapeError(path, where,
                       "shape " + shape_string(tensor.shape) + " is negative or overflows");
    }
    if (expected_bytes != tensor.nbytes) {
      throw ShapeError(path, where,
                       "dtype " + std::string(dtype_name(tensor.dtype)) + " with shape " +
                           shape_string(tensor.shape) + " needs " + std::to_string(expected_bytes) +
                           " bytes, the buffer has " + std::to_string(tensor.nbytes));
    }
    if (tensor.nbytes > 0 && tensor.data == nullptr) throw Error(path, where, "data is null");
  }

  WritePlan plan;
  for (const NamedBuffer& tensor : tensors) plan.order.push_back(&tensor);
  std::sort(plan.order.begin(), plan.order.end(), [](const NamedBuffer* a, const NamedBuffer* b) {
    const int rank_a = describe(a->dtype).write_order_rank;
    const int rank_b = describe(b->dtype).write_order_rank;
    if (rank_a != rank_b) return rank_a > rank_b;
    return a->name < b->name;
  });

  // Compact JSON, keys in the order Python writes them: metadata first, then the tensors in
  // data order, each as {"dtype":..,"shape":[..],"data_offsets":[begin,end]}.
  std::string& header = plan.header;
  header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      const std::string where = "__metadata__ key " + in_quotes(key);
      header += (first ? "" : ",") + json_string(key, path, where) + ":" +
                json_string(value, path, where);
      first = false;
    }
    header += "}";
  }
  uint64_t offset = 0;
  for (const NamedBuffer* tensor : plan.order) {
    if (header.size() > 1) header += ",";
    header += json_string(tensor->name, path, tensor_location(tensor->name));
    header += ":{\"dtype\":\"" + std::string(dtype_name(tensor->dtype)) + "\",\"shape\":[";
    for (size_t i = 0; i < tensor->shape.size(); ++i) {
      header += (i ? "," : "") + std::to_string(tensor->shape[i]);
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + tensor->nbytes) + "]}";
    offset += tensor->nbytes;
  }
  header += "}";
  // Pad with spaces so that the data section starts at a multiple of 8 bytes.
  header.append((8 - header.size() % 8) % 8, ' ');
  if (header.size() > kMaxHeaderBytes) {
    throw Error(path, "header",
                "is " + std::to_string(header.size()) +
                    " bytes, above the 100 MB readers accept; too many tensors");
  }
  return plan;
}

void write_planned(std::ostream& out, const WritePlan& plan) {
  char length[8];
  uint64_t header_length = plan.header.size();
  for (char& byte : length) {
    byte = static_cast<char>(header_length & 0xFF);
    header_length >>= 8;
  }
  out.write(length, sizeof length);
  out.write(plan.header.data(), static_cast<std::streamsize>(plan.header.size()));
  for (const NamedBuffer* tensor : plan.order) {
    if (tensor->nbytes == 0) continue;
    out.write(static_cast<const char*>(tensor->data), static_cast<std::streamsize>(tensor->nbytes));
  }
}

}  // namespace

std::string serialize(const std::vector<NamedBuffer>& tensors,
                      const std::map<std::string, std::string>& metadata,
                      const std::string& display_name) {
  const WritePlan plan = plan_file(tensors, metadata, display_name);
  std::ostringstream out(std::ios::binary);
  write_planned(out, plan);
  return std::move(out).str();
}

void save(const std::string& path, const std::vector<NamedBuffer>& tensors,
          const std::map<std::string, std::string>& metadata) {
  const WritePlan plan = plan_file(tensors, metadata, path);  // validate before touching the disk
  write_file_atomically(path, [&](std::ostream& out) { write_planned(out, plan); });
}

void save_f32(const std::string& path, const std::vector<F32Tensor>& tensors,
              const std::map<std::string, std::string>& metadata) {
  std::vector<NamedBuffer> buffers;
  for (const F32Tensor& tensor : tensors) {
    uint64_t expected_values = 0;
    if (!byte_count_checked(tensor.shape, 1, expected_values)) {
      throw ShapeError(path, tensor_location(tensor.name),
                       "shape " + shape_string(tensor.shape) + " is negative or overflows");
    }
    if (expected_values != tensor.values.size()) {
      throw ShapeError(path, tensor_location(tensor.name),
                       "shape " + shape_string(tensor.shape) + " needs " +
                           std::to_string(expected_values) + " values, found " +
                           std::to_string(tensor.values.size()));
    }
    buffers.push_back({tensor.name, DType::F32, tensor.shape, tensor.values.data(),
                       tensor.values.size() * sizeof(float)});
  }
  save(path, buffers, metadata);
}

}  // namespace ag::safetensors
