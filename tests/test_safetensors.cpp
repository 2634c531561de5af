// Tests for core/io/safetensors (reader, writer, exact dtype conversions) and core/io/atomic_file.
//
// Bad-input tests build small files by hand: an 8-byte little-endian header length, a JSON
// header, then the data bytes. Each must be rejected with an ag::FormatError whose message
// names the file and the key or byte offset at fault.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/errors.h"
#include "core/io/atomic_file.h"
#include "core/io/read_file.h"
#include "core/io/safetensors.h"
#include "fixture.h"

#ifndef ADAPTGRAD_FIXTURES
#error "compile with -DADAPTGRAD_FIXTURES=\"<repo>/tests/fixtures\""
#endif

namespace fs = std::filesystem;
namespace st = ag::safetensors;

#define CHECK_CONTAINS(text, part)                      \
  CHECK_MESSAGE((text).find(part) != std::string::npos, \
                "missing \"" << (part) << "\" in: " << (text))

namespace {

const std::string kPythonFixture =
    std::string(ADAPTGRAD_FIXTURES) + "/safetensors/python_written.safetensors";
const std::string kBadName = "bad.safetensors";

// --- helpers ----------------------------------------------------------------------------------

std::string le_u64(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
  return bytes;
}

// A safetensors file made of `header` (JSON text) and `data_size` data bytes (all zero).
std::string make_file(const std::string& header, size_t data_size = 0) {
  return le_u64(header.size()) + header + std::string(data_size, '\0');
}

// Opens `bytes` and returns the FormatError message; fails the test if it is accepted or
// throws anything else.
std::string rejection_message(const std::string& bytes) {
  try {
    st::File::open_from_buffer(bytes, kBadName);
  } catch (const ag::FormatError& e) {
    const std::string message = e.what();
    CHECK_CONTAINS(message, kBadName);
    CHECK_MESSAGE(message.find('\n') == std::string::npos, "not one line: " << message);
    return message;
  } catch (const std::exception& e) {
    FAIL("expected ag::FormatError, got another exception: " << e.what());
  }
  FAIL("expected ag::FormatError, but the file was accepted");
  return {};
}

std::vector<std::string> directory_entries(const fs::path& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

using fixture::TempDir;

bool same_float(float a, float b) {
  return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
}

}  // namespace

// --- dtype helpers and exact conversions -------------------------------------------------------

TEST_CASE("dtype names, sizes and parsing") {
  st::DType parsed;
  for (st::DType dtype :
       {st::DType::F64, st::DType::F32, st::DType::F16, st::DType::BF16, st::DType::I64,
        st::DType::I32, st::DType::I16, st::DType::I8, st::DType::U8, st::DType::BOOL}) {
    REQUIRE(st::parse_dtype(st::dtype_name(dtype), parsed));
    CHECK(parsed == dtype);
  }
  CHECK(st::dtype_name(st::DType::BF16) == "BF16");
  CHECK(st::dtype_size(st::DType::F64) == 8);
  CHECK(st::dtype_size(st::DType::I32) == 4);
  CHECK(st::dtype_size(st::DType::BF16) == 2);
  CHECK(st::dtype_size(st::DType::BOOL) == 1);
  CHECK_FALSE(st::parse_dtype("f32", parsed));  // names are case sensitive
  CHECK_FALSE(st::parse_dtype("U16", parsed));  // valid in the format, unsupported here
  CHECK(st::is_floating_point(st::DType::BF16));
  CHECK_FALSE(st::is_floating_point(st::DType::I8));
}

TEST_CASE("F16 to float: hand-computed values") {
  CHECK(st::f16_bits_to_float(0x3C00) == 1.0f);
  CHECK(st::f16_bits_to_float(0xC000) == -2.0f);
  CHECK(st::f16_bits_to_float(0x7BFF) == 65504.0f);                  // largest half
  CHECK(st::f16_bits_to_float(0x0400) == std::ldexp(1.0f, -14));     // smallest normal
  CHECK(st::f16_bits_to_float(0x0001) == std::ldexp(1.0f, -24));     // smallest subnormal
  CHECK(st::f16_bits_to_float(0x03FF) == std::ldexp(1023.0f, -24));  // largest subnormal
  CHECK(st::f16_bits_to_float(0x3555) == 0.333251953125f);           // half nearest 1/3
  CHECK(same_float(st::f16_bits_to_float(0x0000), 0.0f));
  CHECK(same_float(st::f16_bits_to_float(0x8000), -0.0f));
  CHECK(st::f16_bits_to_float(0x7C00) == std::numeric_limits<float>::infinity());
  CHECK(st::f16_bits_to_float(0xFC00) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(st::f16_bits_to_float(0x7E00)));
  CHECK(std::isnan(st::f16_bits_to_float(0x7C01)));  // signalling NaN stays NaN, not inf
}

TEST_CASE("F16 to float: all 65536 bit patterns match the definition") {
  // value = (-1)^sign * 2^(exponent-15) * 1.mantissa  (normal)
  //       = (-1)^sign * 2^-14 * 0.mantissa            (subnormal, exponent == 0)
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    const int exponent = (bits >> 10) & 0x1F;
    const int mantissa = bits & 0x3FF;
    const double sign = (bits & 0x8000) ? -1.0 : 1.0;
    const float got = st::f16_bits_to_float(static_cast<uint16_t>(bits));
    if (exponent == 31) {
      CHECK((mantissa == 0 ? std::isinf(got) && std::signbit(got) == (sign < 0) : std::isnan(got)));
      continue;
    }
    const double expected = exponent == 0 ? sign * std::ldexp(mantissa, -24)
                                          : sign * std::ldexp(1024 + mantissa, exponent - 25);
    if (static_cast<double>(got) != expected || std::signbit(got) != (sign < 0)) {
      FAIL("half 0x" << std::hex << bits << " converted to " << got << ", expected " << expected);
    }
  }
}

TEST_CASE("BF16 to float: hand-computed values") {
  CHECK(st::bf16_bits_to_float(0x3F80) == 1.0f);
  CHECK(st::bf16_bits_to_float(0xC000) == -2.0f);
  CHECK(st::bf16_bits_to_float(0xC060) == -3.5f);
  CHECK(st::bf16_bits_to_float(0x7F7F) == 3.3895313892515355e38f);  // largest bfloat16
  CHECK(st::bf16_bits_to_float(0x0001) == std::ldexp(1.0f, -133));  // smallest subnormal
  CHECK(same_float(st::bf16_bits_to_float(0x8000), -0.0f));
  CHECK(st::bf16_bits_to_float(0x7F80) == std::numeric_limits<float>::infinity());
  CHECK(st::bf16_bits_to_float(0xFF80) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(st::bf16_bits_to_float(0x7FC0)));
}

TEST_CASE("F64 to float rounds to nearest even, also outside the float range") {
  const float float_max = std::numeric_limits<float>::max();
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(st::f64_to_f32_rounded(0.1) == 0.1f);
  CHECK(st::f64_to_f32_rounded(3.141592653589793) == 3.14159274f);
  CHECK(st::f64_to_f32_rounded(1.0 + std::ldexp(1.0, -24)) == 1.0f);  // tie: to even (down)
  CHECK(st::f64_to_f32_rounded(1.0 + 3 * std::ldexp(1.0, -24)) ==
        1.0f + std::ldexp(1.0f, -22));  // tie: to even (up)
  CHECK(st::f64_to_f32_rounded(1e-50) == 0.0f);
  CHECK(st::f64_to_f32_rounded(float_max) == float_max);
  // Above FLT_MAX but below FLT_MAX + half an ulp (2^103): rounds down to FLT_MAX.
  CHECK(st::f64_to_f32_rounded(double(float_max) + std::ldexp(1.0, 102)) == float_max);
  CHECK(st::f64_to_f32_rounded(-(double(float_max) + std::ldexp(1.0, 102))) == -float_max);
  // Exactly half way between FLT_MAX and 2^128: ties to even, which overflows to infinity.
  CHECK(st::f64_to_f32_rounded(double(float_max) + std::ldexp(1.0, 103)) == inf);
  CHECK(st::f64_to_f32_rounded(1e300) == inf);
  CHECK(st::f64_to_f32_rounded(-1e300) == -inf);
  CHECK(st::f64_to_f32_rounded(std::numeric_limits<double>::infinity()) == inf);
  CHECK(std::isnan(st::f64_to_f32_rounded(std::numeric_limits<double>::quiet_NaN())));
}

// --- the file written by Python ---------------------------------------------------------------

TEST_CASE("reads the file written by Python's safetensors") {
  // tools/reference/make_safetensors_fixture.py wrote these values.
  const st::File file = st::File::open(kPythonFixture);
  CHECK(file.path() == kPythonFixture);
  CHECK(file.metadata() ==
        std::map<std::string, std::string>{
            {"regenerate", "python tools/reference/make_safetensors_fixture.py"}});

  // tensors() is in data order, which Python chose: by dtype (I64, F64, F32, I32, BF16, F16,
  // I16, I8, U8, BOOL), then by name.
  std::vector<std::string> names;
  for (const st::TensorInfo& t : file.tensors()) names.push_back(t.name);
  CHECK(names == std::vector<std::string>{"i64_ids", "f64_scalar", "empty", "f32_matrix",
                                          "i32_values", "bf16_values", "f16_values", "i16_values",
                                          "i8_values", "u8_values", "bool_mask"});

  const st::TensorInfo& matrix = file.info("f32_matrix");
  CHECK(matrix.dtype == st::DType::F32);
  CHECK(matrix.shape == std::vector<int64_t>{2, 3});
  CHECK(matrix.begin == 32);
  CHECK(matrix.end == 56);
  CHECK(matrix.numel() == 6);
  const std::vector<float> f32 = file.read_f32("f32_matrix");
  REQUIRE(f32.size() == 6);
  CHECK(f32[0] == 0.5f);
  CHECK(f32[1] == -1.25f);
  CHECK(f32[2] == 3.0f);
  CHECK(f32[3] == 1.0e-8f);
  CHECK(same_float(f32[4], -0.0f));
  CHECK(f32[5] == std::numeric_limits<float>::max());

  const std::vector<float> f16 = file.read_f32("f16_values");
  REQUIRE(f16.size() == 8);
  CHECK(f16[0] == 1.0f);
  CHECK(f16[1] == -2.0f);
  CHECK(f16[2] == 65504.0f);
  CHECK(f16[3] == std::ldexp(1.0f, -24));
  CHECK(f16[4] == std::ldexp(1.0f, -14));
  CHECK(f16[5] == 0.333251953125f);
  CHECK(f16[6] == std::numeric_limits<float>::infinity());
  CHECK(std::isnan(f16[7]));

  CHECK(file.read_f32("bf16_values") ==
        std::vector<float>{1.0f, -3.5f, 3.3895313892515355e38f,
                           -std::numeric_limits<float>::infinity()});

  CHECK(file.info("f64_scalar").shape.empty());
  CHECK(file.info("f64_scalar").numel() == 1);
  CHECK(file.read_f32("f64_scalar") == std::vector<float>{3.14159274f});

  CHECK(file.read_i64("i64_ids") == std::vector<int64_t>{-1, 0, int64_t(1) << 40});
  CHECK(file.read_i64("i32_values") == std::vector<int64_t>{7, -8});
  CHECK(file.read_i64("i16_values") == std::vector<int64_t>{-32768, 32767});
  CHECK(file.read_i64("i8_values") == std::vector<int64_t>{-128, 127});
  CHECK(file.read_i64("u8_values") == std::vector<int64_t>{0, 1, 255});
  CHECK(file.read_i64("bool_mask") == std::vector<int64_t>{1, 0, 1});

  CHECK(file.info("empty").shape == std::vector<int64_t>{0, 4});
  CHECK(file.read_f32("empty").empty());
  CHECK(file.raw_bytes("i32_values") == std::string_view("\x07\0\0\0\xf8\xff\xff\xff", 8));
  CHECK(file.contains("u8_values"));
  CHECK_FALSE(file.contains("nope"));
}

TEST_CASE("the writer reproduces Python's file byte for byte") {
  const int64_t i64[] = {-1, 0, int64_t(1) << 40};
  const double f64 = 3.141592653589793;
  const float f32[] = {0.5f, -1.25f, 3.0f, 1.0e-8f, -0.0f, std::numeric_limits<float>::max()};
  const int32_t i32[] = {7, -8};
  const uint16_t bf16[] = {0x3F80, 0xC060, 0x7F7F, 0xFF80};
  const uint16_t f16[] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x0400, 0x3555, 0x7C00, 0x7E00};
  const int16_t i16[] = {-32768, 32767};
  const int8_t i8[] = {-128, 127};
  const uint8_t u8[] = {0, 1, 255};
  const uint8_t mask[] = {1, 0, 1};
  // Deliberately not in file order: save() must sort them the way Python does.
  const std::vector<st::NamedBuffer> tensors = {
      {"u8_values", st::DType::U8, {3}, u8, sizeof u8},
      {"bool_mask", st::DType::BOOL, {3}, mask, sizeof mask},
      {"f16_values", st::DType::F16, {2, 4}, f16, sizeof f16},
      {"f32_matrix", st::DType::F32, {2, 3}, f32, sizeof f32},
      {"empty", st::DType::F32, {0, 4}, nullptr, 0},
      {"bf16_values", st::DType::BF16, {4}, bf16, sizeof bf16},
      {"i16_values", st::DType::I16, {2}, i16, sizeof i16},
      {"i8_values", st::DType::I8, {2}, i8, sizeof i8},
      {"f64_scalar", st::DType::F64, {}, &f64, sizeof f64},
      {"i32_values", st::DType::I32, {2, 1}, i32, sizeof i32},
      {"i64_ids", st::DType::I64, {3}, i64, sizeof i64},
  };
  const std::map<std::string, std::string> metadata = {
      {"regenerate", "python tools/reference/make_safetensors_fixture.py"}};
  const std::string written = st::serialize(tensors, metadata);
  const std::string python = ag::read_file(kPythonFixture, ag::kWeightsFile);
  REQUIRE(!python.empty());
  CHECK(written.size() == python.size());
  CHECK(written == python);

  TempDir dir;
  st::save(dir.file("same.safetensors"), tensors, metadata);
  CHECK(ag::read_file(dir.file("same.safetensors"), ag::kWeightsFile) == python);
}

// --- round trips ------------------------------------------------------------------------------

TEST_CASE("round trip: F32 and I64 tensors with metadata") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");

  // Large enough (480 KB) to go through the writer's unbuffered path as well.
  std::vector<float> big(300 * 400);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i) * 0.25f - 7.0f;
  const std::vector<int64_t> ids = {3, -4, std::numeric_limits<int64_t>::max(),
                                    std::numeric_limits<int64_t>::min()};
  const std::vector<st::NamedBuffer> tensors = {
      {"encoder.weight", st::DType::F32, {300, 400}, big.data(), big.size() * sizeof(float)},
      {"token_ids", st::DType::I64, {2, 2}, ids.data(), ids.size() * sizeof(int64_t)},
  };
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"note", "quotes \" and \\ and\nnewline, ünïcödé"}};
  st::save(path, tensors, metadata);

  const st::File file = st::File::open(path);
  CHECK(file.metadata() == metadata);
  REQUIRE(file.tensors().size() == 2);
  CHECK(file.tensors()[0].name == "token_ids");  // I64 is written before F32
  CHECK(file.info("encoder.weight").shape == std::vector<int64_t>{300, 400});
  CHECK(file.read_f32("encoder.weight") == big);
  CHECK(file.read_i64("token_ids") == ids);

  // The data section starts at a multiple of 8 bytes.
  const std::string bytes = ag::read_file(path, ag::kWeightsFile);
  uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  CHECK(header_length % 8 == 0);
}

TEST_CASE("round trip: save_f32 convenience, scalars and empty tensors") {
  TempDir dir;
  const std::string path = dir.file("small.safetensors");
  st::save_f32(path, {{"b", {3}, {1.0f, 2.0f, 3.0f}}, {"a", {}, {42.0f}}, {"none", {0}, {}}},
               {{"adaptgrad", "1"}});
  const st::File file = st::File::open(path);
  CHECK(file.metadata().at("adaptgrad") == "1");
  CHECK(file.read_f32("a") == std::vector<float>{42.0f});
  CHECK(file.read_f32("b") == std::vector<float>{1.0f, 2.0f, 3.0f});
  CHECK(file.read_f32("none").empty());

  // Without metadata there is no "__metadata__" key at all (as in Python).
  st::save_f32(path, {{"x", {1}, {1.0f}}});
  CHECK(ag::read_file(path, ag::kWeightsFile).find("__metadata__") == std::string::npos);
  CHECK(st::File::open(path).metadata().empty());
}

TEST_CASE("the writer rejects inconsistent input before touching the file") {
  TempDir dir;
  const std::string path = dir.file("out.safetensors");
  const float values[4] = {};

  // 3 floats need 12 bytes, not 16.
  CHECK_THROWS_AS(st::save(path, {{"w", st::DType::F32, {3}, values, sizeof values}}),
                  ag::ShapeError);
  CHECK_THROWS_AS(st::save(path, {{"w", st::DType::F32, {-1}, values, 0}}), ag::ShapeError);
  CHECK_THROWS_AS(st::save_f32(path, {{"w", {2, 2}, {1.0f, 2.0f}}}), ag::ShapeError);
  CHECK_THROWS_AS(st::save(path, {{"w", st::DType::F32, {1}, values, 4},
                                  {"w", st::DType::F32, {1}, values, 4}}),
                  ag::Error);
  CHECK_THROWS_AS(st::save(path, {{"__metadata__", st::DType::F32, {1}, values, 4}}), ag::Error);
  CHECK_THROWS_AS(st::save(path, {{"bad\xff utf8", st::DType::F32, {1}, values, 4}}), ag::Error);
  CHECK_FALSE(fs::exists(path));
  CHECK(directory_entries(dir.path).empty());

  try {
    st::save_f32(dir.file("missing_dir/out.safetensors"), {{"w", {1}, {1.0f}}});
    FAIL("expected ag::Error");
  } catch (const ag::Error& e) {
    CHECK_CONTAINS(std::string(e.what()), "missing_dir/out.safetensors");
  }
}

TEST_CASE("open() of a missing file or a directory is an ag::Error naming the path") {
  TempDir dir;
  CHECK_THROWS_AS(st::File::open(dir.file("absent.safetensors")), ag::Error);
  try {
    st::File::open(dir.file("absent.safetensors"));
  } catch (const ag::Error& e) {
    CHECK_CONTAINS(std::string(e.what()), "absent.safetensors");
  }
  CHECK_THROWS_AS(st::File::open(dir.path.string()), ag::Error);
}

TEST_CASE("read_file: the exact bytes; a folder or a missing file is an ag::Error naming it") {
  TempDir dir;
  // NUL, CR LF, a lone CR, a byte above 0x7F, and more than one 1 MiB read block.
  std::string bytes("a\0b\r\nc\rd\xff", 9);
  bytes += std::string((1 << 20) + 3, 'x');
  const std::string path = dir.write("bytes.bin", bytes);
  CHECK(ag::read_file(path, ag::kWeightsFile).size() == 9 + (1 << 20) + 3);
  CHECK(ag::read_file(path, ag::kWeightsFile) == bytes);
  CHECK(ag::read_file(dir.write("empty.txt", ""), ag::kWeightsFile).empty());
  CHECK(fixture::error_message([&] { ag::read_file(dir.file("absent.json"), ag::kWeightsFile); }) ==
        dir.file("absent.json") + ": file: cannot be opened: No such file or directory");
  CHECK(fixture::error_message([&] { ag::read_file(dir.path.string(), ag::kWeightsFile); }) ==
        dir.path.string() + ": file: is a folder, expected a regular file (a weights file)");
}

// --- bad input: one test per way a file can be wrong ------------------------------------------

TEST_CASE("bad input: file shorter than the 8-byte header length") {
  for (size_t size = 0; size < 8; ++size) {
    const std::string message = rejection_message(std::string(size, '\x01'));
    CHECK_CONTAINS(message, "byte 0");
    CHECK_CONTAINS(message, "too short");
  }
}

TEST_CASE("bad input: header cut short by truncation") {
  const std::string full =
      make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4);
  const std::string message = rejection_message(full.substr(0, 20));
  CHECK_CONTAINS(message, "header length at byte 0");
  CHECK_CONTAINS(message, "larger than the 12 bytes");
}

TEST_CASE("bad input: header length larger than the file") {
  const std::string message = rejection_message(le_u64(1000) + "{}");
  CHECK_CONTAINS(message, "header length at byte 0");
  CHECK_CONTAINS(message, "1000");
}

TEST_CASE("bad input: absurd header length is rejected before allocating") {
  for (uint64_t absurd : {uint64_t(100'000'001), uint64_t(1) << 40, ~uint64_t(0)}) {
    const std::string message = rejection_message(le_u64(absurd) + "{}");
    CHECK_CONTAINS(message, "header length at byte 0");
    CHECK_CONTAINS(message, "exceeds the limit");
    CHECK_CONTAINS(message, std::to_string(absurd));
  }
}

TEST_CASE("bad input: header that is not JSON") {
  std::string message = rejection_message(make_file("{not json}   "));
  CHECK_CONTAINS(message, "invalid JSON");
  CHECK_CONTAINS(message, "byte offset 10");  // the 'o' of "not": header byte 2, file offset 10
  message = rejection_message(make_file(R"({"w":{"dtype":"F32")"));  // unterminated
  CHECK_CONTAINS(message, "invalid JSON");
  message = rejection_message(make_file("{\"\xff\":1}"));  // not UTF-8
  CHECK_CONTAINS(message, "invalid JSON");
  message = rejection_message(make_file("{} {}"));  // trailing garbage
  CHECK_CONTAINS(message, "invalid JSON");
  message = rejection_message(make_file(""));  // empty header
  CHECK_CONTAINS(message, "header at byte 8");
}

TEST_CASE("bad input: header that is not a JSON object") {
  for (const char* header : {"[1, 2]  ", "\"text\"", "42      ", "null", " {}"}) {
    const std::string message = rejection_message(make_file(header));
    CHECK_CONTAINS(message, "header at byte 8");
    CHECK_CONTAINS(message, "expected a JSON object");
  }
}

TEST_CASE("bad input: tensor entry that is not an object, or has missing or extra keys") {
  std::string message = rejection_message(make_file(R"({"w":[1,2]})"));
  CHECK_CONTAINS(message, "tensor \"w\"");
  CHECK_CONTAINS(message, "expected an object");
  message = rejection_message(make_file(R"({"w":{"dtype":"F32","shape":[0]}})"));
  CHECK_CONTAINS(message, "tensor \"w\"");
  CHECK_CONTAINS(message, "missing required key \"data_offsets\"");
  message = rejection_message(
      make_file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"extra":1}})"));
  CHECK_CONTAINS(message, "tensor \"w\"");
  CHECK_CONTAINS(message, "unexpected key \"extra\"");
}

TEST_CASE("bad input: unknown dtype") {
  for (const char* dtype : {R"("Q7")", R"("f32")", R"("U16")", "32"}) {
    const std::string header =
        std::string(R"({"w":{"dtype":)") + dtype + R"(,"shape":[1],"data_offsets":[0,4]}})";
    const std::string message = rejection_message(make_file(header, 4));
    CHECK_CONTAINS(message, "tensor \"w\"");
    CHECK_CONTAINS(message, "unsupported dtype");
  }
}

TEST_CASE("bad input: negative, non-integer or non-array shape") {
  for (const char* shape : {"[-1]", "[2, 1.5]", "[2.0]", "[\"3\"]", "[null]"}) {
    const std::string header =
        std::string(R"({"w":{"dtype":"F32","shape":)") + shape + R"(,"data_offsets":[0,0]}})";
    const std::string message = rejection_message(make_file(header));
    CHECK_CONTAINS(message, "tensor \"w\"");
    CHECK_CONTAINS(message, "must be a non-negative integer");
  }
  const std::string message =
      rejection_message(make_file(R"({"w":{"dtype":"F32","shape":3,"data_offsets":[0,12]}})", 12));
  CHECK_CONTAINS(message, "tensor \"w\"");
  CHECK_CONTAINS(message, "shape must be an array");
}

TEST_CASE("bad input: shape whose byte size overflows 64 bits") {
  const std::string message = rejection_message(
      make_file(R"({"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}})"));
  CHECK_CONTAINS(message, "tensor \"w\"");
  CHECK_CONTAINS(message, "overflows");
}

TEST_CASE("bad input: malformed data_offsets") {
  for (const char* offsets : {"[0]", "[0,4,8]", "[-4,0]", "[0,4.0]", "{}", "[8,4]"}) {
    const std::string header =
        std::string(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":)") + offsets + "}}";
    const std::string message = rejection_message(make_file(header, 8));
    CHECK_CONTAINS(message, "tensor \"w\"");
    CHECK_CONTAINS(message, "data_offsets");
  }
}

TEST_CASE("bad input: data_offsets of the wrong size for the shape") {
  const std::string message =
      rejection_message(make_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8));
  CHECK_CONTAINS(message, "tensor \"w\"");
  CHECK_CONTAINS(message, "cover 8 bytes");
  CHECK_CONTAINS(message, "needs 12");
}

TEST_CASE("bad input: overlapping data_offsets") {
  const std::string message =
      rejection_message(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                  12));
  CHECK_CONTAINS(message, "tensor \"b\"");
  CHECK_CONTAINS(message, "overlap tensor \"a\"");
}

TEST_CASE("bad input: two tensors sharing the same bytes") {
  const std::string message =
      rejection_message(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                  R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                  4));
  CHECK_CONTAINS(message, "tensor \"b\"");
  CHECK_CONTAINS(message, "overlap");
}

TEST_CASE("bad input: gap between data_offsets") {
  std::string message =
      rejection_message(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                  R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                  12));
  CHECK_CONTAINS(message, "tensor \"b\"");
  CHECK_CONTAINS(message, "gap");
  // The first tensor must start at 0.
  message =
      rejection_message(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8));
  CHECK_CONTAINS(message, "tensor \"a\"");
  CHECK_CONTAINS(message, "expected begin 0");
}

TEST_CASE("bad input: data_offsets past the end of the file") {
  // The header promises 16 bytes of data, the file has 8.
  const std::string message =
      rejection_message(make_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8));
  CHECK_CONTAINS(message, "tensor \"a\"");
  CHECK_CONTAINS(message, "past the end");
}

TEST_CASE("bad input: trailing bytes after the last tensor") {
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  const std::string message = rejection_message(make_file(header, 7));
  // The stray bytes start after the length, the header and the 4 bytes of "a".
  CHECK_CONTAINS(message, "byte offset " + std::to_string(8 + header.size() + 4));
  CHECK_CONTAINS(message, "3 trailing bytes");
  CHECK_CONTAINS(message, "\"a\"");
  // With no tensors at all, any data byte is trailing.
  CHECK_CONTAINS(rejection_message(make_file("{}", 1)), "1 trailing bytes");
}

TEST_CASE("bad input: duplicate keys") {
  std::string message =
      rejection_message(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                  R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                  4));
  CHECK_CONTAINS(message, "header key \"a\"");
  CHECK_CONTAINS(message, "more than once");
  message = rejection_message(
      make_file(R"({"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})", 4));
  CHECK_CONTAINS(message, "\"a\"");
  CHECK_CONTAINS(message, "key \"dtype\" appears more than once");
  message = rejection_message(make_file(R"({"__metadata__":{"k":"1","k":"2"}})"));
  CHECK_CONTAINS(message, "key \"k\" appears more than once");
}

// A header of `count` empty tensors "t0", "t1", ... (zero bytes each: no data section).
static std::string header_of_empty_tensors(size_t count) {
  std::string header = "{";
  header.reserve(count * 56);
  for (size_t i = 0; i < count; ++i)
    header += (i ? ",\"t" : "\"t") + std::to_string(i) +
              R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]})";
  return header + "}";
}

TEST_CASE("bad input: more tensors than the reader accepts, refused while the header is read") {
  // nlohmann's callback parser, used before to catch repeated keys, scanned the whole header
  // object at the end of every entry: 25,000 entries took 5 s, 1,000,000 never finished. The
  // header is now read in linear passes, and the entry past the limit stops the first one.
  const std::string message = rejection_message(make_file(header_of_empty_tensors(1'000'000)));
  CHECK(message ==
        "bad.safetensors: header key \"t100000\": is tensor number 100001, more than the 100000 "
        "this reader accepts in one file; corrupted or not a model?");
  // At the limit, every entry is read.
  const st::File file =
      st::File::open_from_buffer(make_file(header_of_empty_tensors(100'000)), "many.safetensors");
  CHECK(file.tensors().size() == 100'000);
  CHECK(file.contains("t99999"));
  CHECK(file.info("t4").shape == std::vector<int64_t>{0});
}

TEST_CASE("bad input: __metadata__ that is not a string-to-string map") {
  std::string message = rejection_message(make_file(R"({"__metadata__":{"k":1}})"));
  CHECK_CONTAINS(message, "__metadata__ key \"k\"");
  CHECK_CONTAINS(message, "expected a string value, found 1");
  message = rejection_message(make_file(R"({"__metadata__":{"k":{"nested":"x"}}})"));
  CHECK_CONTAINS(message, "__metadata__ key \"k\"");
  message = rejection_message(make_file(R"({"__metadata__":["a"]})"));
  CHECK_CONTAINS(message, "\"__metadata__\"");
  CHECK_CONTAINS(message, "expected an object");
}

TEST_CASE("bad input: names with control characters stay on one line in messages") {
  const std::string message = rejection_message(
      make_file(R"({"bad\nname":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", 8));
  CHECK_CONTAINS(message, "tensor \"bad\\x0aname\"");
}

TEST_CASE("missing tensor lookup and reading with the wrong dtype") {
  const st::File file = st::File::open(kPythonFixture);
  for (int call = 0; call < 3; ++call) {
    try {
      if (call == 0) file.info("classifier.weight");
      if (call == 1) file.read_f32("classifier.weight");
      if (call == 2) file.read_i64("classifier.weight");
      FAIL("expected ag::FormatError");
    } catch (const ag::FormatError& e) {
      const std::string message = e.what();
      CHECK_CONTAINS(message, kPythonFixture);
      CHECK_CONTAINS(message, "tensor \"classifier.weight\"");
      CHECK_CONTAINS(message, "no such tensor");
    }
  }
  try {
    file.read_f32("i64_ids");
    FAIL("expected ag::FormatError");
  } catch (const ag::FormatError& e) {
    CHECK_CONTAINS(std::string(e.what()), "tensor \"i64_ids\"");
    CHECK_CONTAINS(std::string(e.what()), "found I64");
  }
  try {
    file.read_i64("f32_matrix");
    FAIL("expected ag::FormatError");
  } catch (const ag::FormatError& e) {
    CHECK_CONTAINS(std::string(e.what()), "tensor \"f32_matrix\"");
    CHECK_CONTAINS(std::string(e.what()), "found F32");
  }
}

TEST_CASE("bad input: BOOL byte other than 0 or 1 is reported with its offset") {
  const std::string header = R"({"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})";
  std::string bytes = make_file(header, 2);
  bytes.back() = 7;
  const st::File file = st::File::open_from_buffer(bytes, kBadName);
  try {
    file.read_i64("m");
    FAIL("expected ag::FormatError");
  } catch (const ag::FormatError& e) {
    CHECK_CONTAINS(std::string(e.what()), "byte offset " + std::to_string(bytes.size() - 1));
    CHECK_CONTAINS(std::string(e.what()), "expected 0 or 1");
  }
}

TEST_CASE("fuzz: every truncation and every corrupted byte gives FormatError or a valid file") {
  const std::string original = ag::read_file(kPythonFixture, ag::kWeightsFile);
  REQUIRE(original.size() > 100);
  // Every proper prefix breaks the size rules somewhere.
  for (size_t size = 0; size < original.size(); ++size) {
    CHECK_THROWS_AS(st::File::open_from_buffer(original.substr(0, size), "cut"), ag::FormatError);
  }
  // Corrupting any byte must never crash; reading every tensor of an accepted file must work.
  for (size_t position = 0; position < original.size(); ++position) {
    for (const int value : {0x00, 0x22, 0x31, 0x5B, 0x7D, 0xFF}) {
      std::string bytes = original;
      bytes[position] = static_cast<char>(value);
      try {
        const st::File file = st::File::open_from_buffer(bytes, "fuzz");
        for (const st::TensorInfo& t : file.tensors()) {
          if (st::is_floating_point(t.dtype)) {
            CHECK(file.read_f32(t.name).size() == static_cast<size_t>(t.numel()));
          } else if (t.dtype != st::DType::BOOL) {
            CHECK(file.read_i64(t.name).size() == static_cast<size_t>(t.numel()));
          }
        }
      } catch (const ag::FormatError&) {
        // expected for most header corruptions
      }
    }
  }
}

// --- atomic file writes -----------------------------------------------------------------------

TEST_CASE("atomic write: creates a file, then replaces it, leaving no temporary file") {
  TempDir dir;
  const std::string path = dir.file("notes.txt");
  ag::write_text_file_atomically(path, "old contents");
  CHECK(ag::read_file(path, ag::kWeightsFile) == "old contents");
  ag::write_text_file_atomically(path, "new");
  CHECK(ag::read_file(path, ag::kWeightsFile) == "new");
  CHECK(directory_entries(dir.path) == std::vector<std::string>{"notes.txt"});

  // A new file gets the usual permissions (0666 minus the umask), unlike mkstemp's 0600.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == (0666 & ~mask));
}

TEST_CASE("atomic write: a writer that throws midway leaves the old file intact") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  ag::write_text_file_atomically(path, "the old, complete file");

  CHECK_THROWS_WITH_AS(ag::write_file_atomically(path,
                                                 [](std::ostream& out) {
                                                   out << std::string(200000, 'x');  // half done
                                                   throw std::runtime_error("interrupted");
                                                 }),
                       "interrupted", std::runtime_error);
  CHECK(ag::read_file(path, ag::kWeightsFile) == "the old, complete file");
  CHECK(directory_entries(dir.path) == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("atomic write: missing directory is an ag::Error naming the path") {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/file.txt");
  try {
    ag::write_text_file_atomically(path, "x");
    FAIL("expected ag::Error");
  } catch (const ag::Error& e) {
    CHECK_CONTAINS(std::string(e.what()), path);
    CHECK_CONTAINS(std::string(e.what()), "No such file or directory");
  }
  CHECK(directory_entries(dir.path).empty());
}

TEST_CASE("atomic write: a full disk is reported and the old file survives") {
  // Simulate running out of space with a file-size limit: write() then fails with EFBIG
  // ("File too large") instead of raising SIGXFSZ, which we ignore for the duration.
  TempDir dir;
  const std::string path = dir.file("big.bin");
  ag::write_text_file_atomically(path, "old");

  rlimit saved_limit{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved_limit) == 0);
  void (*saved_handler)(int) = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small_limit = saved_limit;
  small_limit.rlim_cur = 100000;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small_limit) == 0);

  std::string message;
  try {
    ag::write_text_file_atomically(path, std::string(1000000, 'y'));
  } catch (const ag::Error& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &saved_limit);
  ::signal(SIGXFSZ, saved_handler);

  CHECK_CONTAINS(message, path);
  CHECK_CONTAINS(message, "File too large");
  CHECK(ag::read_file(path, ag::kWeightsFile) == "old");
  CHECK(directory_entries(dir.path) == std::vector<std::string>{"big.bin"});
}
