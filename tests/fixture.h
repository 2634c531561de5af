// Reading the reference fixtures written by tools/reference/ (safetensors files with
// metadata format = "adaptgrad-fixture"), and comparing tensors against them.
#pragma once

#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "core/errors.h"
#include "core/io/safetensors.h"
#include "core/tensor.h"
#include "models/encoder.h"

namespace fixture {

inline std::string path(const std::string& relative) {
  return std::string(ADAPTGRAD_FIXTURES) + "/" + relative;
}

// A fresh empty folder under the system's temporary directory, removed with its contents when
// the TempDir goes out of scope. Its name holds the process id and a counter, so that tests
// running at the same time never share one.
struct TempDir {
  std::filesystem::path path;

  TempDir() {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("adaptgrad_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The path of `name` inside the folder.
  std::string file(const std::string& name) const { return (path / name).string(); }
  // Writes `contents` to `name` inside the folder (bytes as they are) and returns its path.
  std::string write(const std::string& name, const std::string& contents) const {
    std::ofstream(path / name, std::ios::binary) << contents;
    return file(name);
  }
};

class Reference {
 public:
  explicit Reference(const std::string& relative)
      : file_(ag::safetensors::File::open(path(relative))) {
    auto& meta = file_.metadata();
    auto format = meta.find("format"), version = meta.find("version");
    INFO("regenerate with: " << (meta.count("regenerate") ? meta.at("regenerate") : "?"));
    REQUIRE(format != meta.end());
    REQUIRE(format->second == "adaptgrad-fixture");
    REQUIRE(version != meta.end());
    REQUIRE(version->second == "1");
  }
  bool has(const std::string& name) const { return file_.contains(name); }
  ag::Tensor tensor(const std::string& name) const {
    auto& info = file_.info(name);
    return ag::Tensor::from_vector(info.shape.empty() ? ag::Shape{} : info.shape,
                                   file_.read_f32(name));
  }
  ag::Indices indices(const std::string& name) const {
    auto values = file_.read_i64(name);
    return {file_.info(name).shape, std::vector<int32_t>(values.begin(), values.end())};
  }
  const std::map<std::string, std::string>& metadata() const { return file_.metadata(); }
  const ag::safetensors::File& file() const { return file_; }

 private:
  ag::safetensors::File file_;
};

// The fixture's batch as model input (token_type_ids only when the fixture has them).
inline ag::models::EncoderInput batch(const Reference& ref) {
  ag::models::EncoderInput in{ref.indices("input_ids"), ref.indices("attention_mask"), {}};
  if (ref.has("token_type_ids")) in.token_type_ids = ref.indices("token_type_ids");
  return in;
}

// Writes a copy of safetensors file `from` to `to` in which tensor `name` holds `value` at
// element `index` (with the library's own writer): a damaged weight file for error tests.
inline void copy_with_value(const std::string& from, const std::string& to, const std::string& name,
                            size_t index, float value) {
  auto file = ag::safetensors::File::open(from);
  std::vector<ag::safetensors::F32Tensor> tensors;
  for (auto& info : file.tensors()) {
    std::vector<float> values = file.read_f32(info.name);
    if (info.name == name) values.at(index) = value;
    tensors.push_back({info.name, info.shape, values});
  }
  ag::safetensors::save_f32(to, tensors);
}

// The message of the ag::Error that `f` throws, or "" when it throws none.
inline std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const ag::Error& e) {
    return e.what();
  }
  return "";
}

// max |a − b| over the elements, and whether |a − b| <= rtol · max|b| + atol everywhere.
// (No doctest assertion in these helpers: they run inside INFO() messages.)
inline double max_abs_diff(const ag::Tensor& a, const ag::Tensor& b) {
  if (a.numel() != b.numel()) return INFINITY;
  double m = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, double(std::abs(a.data()[i] - b.data()[i])));
  return m;
}
inline double max_abs(const ag::Tensor& t) {
  double m = 0.0;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, double(std::abs(t.data()[i])));
  return m;
}
inline void check_close(const std::string& what, const ag::Tensor& actual,
                        const ag::Tensor& expected, double rtol, double atol) {
  INFO(what << ": max |diff| " << max_abs_diff(actual, expected) << ", max |expected| "
            << max_abs(expected));
  CHECK(actual.shape() == expected.shape());
  CHECK(max_abs_diff(actual, expected) <= rtol * max_abs(expected) + atol);
}

}  // namespace fixture
