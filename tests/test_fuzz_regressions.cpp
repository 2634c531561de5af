// Replays every input the fuzzers ever crashed on (tests/fuzz/regressions/<target>/<file>)
// through the same entry code as the libFuzzer targets (tests/fuzz/fuzz_entries.h), plus the
// seed corpora (tests/fuzz/corpus/<target>/), so that the normal g++ build keeps every fixed
// bug fixed. An entry catches only the exceptions its reader documents: anything else thrown
// fails the test case; a crash fails the run.
//
// It also checks the resource cap of the safetensors reader directly: a header or a tensor
// that asks for more memory than the file could hold is rejected before anything is allocated.

#include <doctest/doctest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/io/read_file.h"
#include "fuzz/fuzz_entries.h"

namespace {

namespace fs = std::filesystem;

const fs::path kFuzzFolder = fs::path(ADAPTGRAD_FIXTURES).parent_path() / "fuzz";

// Every regular file under `folder`, sorted (none when it does not exist).
std::vector<fs::path> files_in(const fs::path& folder) {
  std::vector<fs::path> files;
  if (fs::is_directory(folder))
    for (const fs::directory_entry& entry : fs::directory_iterator(folder))
      if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

const adaptgrad_fuzz::Target* find_target(const std::string& name) {
  for (const adaptgrad_fuzz::Target& target : adaptgrad_fuzz::kTargets)
    if (name == target.name) return &target;
  return nullptr;
}

// Fuzz inputs are small files (libFuzzer's inputs stay under a few kB).
constexpr ag::FileKind kFuzzInput{"fuzz input", ag::kMiB};

// Runs one input through its target.
void replay(const adaptgrad_fuzz::Target& target, const fs::path& file) {
  const std::string bytes = ag::read_file(file, kFuzzInput);
  const std::string where = "fuzz_" + std::string(target.name) + " on " + file.string();
  try {
    target.entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  } catch (const std::exception& e) {
    FAIL_CHECK(where << ": an undocumented exception escaped the reader: "
                     << std::string(e.what()));
  } catch (...) {
    FAIL_CHECK(where << ": a non-std exception escaped the reader");
  }
}

#if defined(__SANITIZE_ADDRESS__)
#define ADAPTGRAD_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ADAPTGRAD_UNDER_ASAN 1
#endif
#endif

#ifdef ADAPTGRAD_UNDER_ASAN
// Under AddressSanitizer the address-space cap below cannot be used: cap single allocations
// instead, so that a reader growing a buffer without bound aborts at 2 GiB.
extern "C" const char* __asan_default_options() {
  return "max_allocation_size_mb=2048";
}
#endif

// This test process may not map more than 4 GiB: a reader that tries to allocate what a lying
// file asks for gets std::bad_alloc (and the test case fails) instead of taking the machine's
// memory. Not under AddressSanitizer, which maps terabytes of shadow.
class AddressSpaceCap {
 public:
  AddressSpaceCap() {
#ifndef ADAPTGRAD_UNDER_ASAN
    if (getrlimit(RLIMIT_AS, &saved_) != 0) return;
    rlimit capped = saved_;
    const rlim_t cap = rlim_t(4) << 30;
    if (capped.rlim_cur == RLIM_INFINITY || capped.rlim_cur > cap) capped.rlim_cur = cap;
    active_ = setrlimit(RLIMIT_AS, &capped) == 0;
#endif
  }
  ~AddressSpaceCap() {
    if (active_) setrlimit(RLIMIT_AS, &saved_);
  }
  AddressSpaceCap(const AddressSpaceCap&) = delete;
  AddressSpaceCap& operator=(const AddressSpaceCap&) = delete;

 private:
  rlimit saved_{};
  bool active_ = false;
};

// Replays tests/fuzz/<kind>/<target>/* ; returns the number of inputs run.
const AddressSpaceCap kAddressSpaceCap;

int replay_folder(const std::string& kind) {
  int count = 0;
  if (!fs::is_directory(kFuzzFolder / kind)) return 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(kFuzzFolder / kind)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    const adaptgrad_fuzz::Target* target = find_target(name);
    REQUIRE_MESSAGE(target != nullptr, entry.path().string()
                                           << ": no fuzz target named '" << name << "'");
    for (const fs::path& file : files_in(entry.path())) {
      replay(*target, file);
      ++count;
    }
  }
  return count;
}

template <class Call>
std::string format_error_of(Call call) {
  try {
    call();
  } catch (const ag::FormatError& e) {
    return e.what();
  }
  return "";
}

ag::safetensors::File open_regression(const std::string& name) {
  const std::string bytes =
      ag::read_file(kFuzzFolder / "regressions" / "safetensors" / name, kFuzzInput);
  return ag::safetensors::File::open_from_buffer(bytes, name);
}

}  // namespace

TEST_CASE("every fuzz target has a seed corpus") {
  for (const adaptgrad_fuzz::Target& target : adaptgrad_fuzz::kTargets) {
    const std::string name = target.name;
    CHECK_MESSAGE(!files_in(kFuzzFolder / "corpus" / name).empty(), "tests/fuzz/corpus/" << name);
    CHECK_MESSAGE(fs::exists(kFuzzFolder / ("fuzz_" + name + ".cpp")), "fuzz_" << name << ".cpp");
  }
}

TEST_CASE("every input a fuzzer crashed on is handled now") {
  const int count = replay_folder("regressions");
  MESSAGE(count << " regression inputs replayed");
  CHECK(count > 0);
}

TEST_CASE("every seed of the fuzz corpora goes through its target") {
  const int count = replay_folder("corpus");
  MESSAGE(count << " seed inputs replayed");
  CHECK(count > 0);
}

TEST_CASE("safetensors: a JSON number too large for a double is a FormatError") {
  // Found by fuzz_safetensors: nlohmann::json throws out_of_range.406, not a parse_error.
  const std::string message = format_error_of([] { open_regression("number_overflow_1e400"); });
  CHECK(message.find("number_overflow_1e400: header") == 0);
  CHECK(message.find("1e400") != std::string::npos);
}

TEST_CASE("safetensors resource cap: a header length of 2^40 is rejected before allocating") {
  // 16 bytes of file claiming a 1 TiB header: the length is checked against the cap and the
  // file size before anything is allocated or parsed.
  const std::string message = format_error_of([] { open_regression("header_length_2pow40"); });
  CHECK(message.find("header length at byte 0") != std::string::npos);
  CHECK(message.find("1099511627776 exceeds the limit") != std::string::npos);
}

TEST_CASE("safetensors resource cap: a header length past the end of the file is rejected") {
  const std::string message = format_error_of([] { open_regression("header_length_past_end"); });
  CHECK(message.find("99000000 is larger than the 2 bytes that follow it") != std::string::npos);
}

TEST_CASE("safetensors resource cap: a 4 TiB tensor in a tiny file is rejected at open") {
  // read_f32 would allocate numel floats: the tensor must never get that far.
  const std::string message = format_error_of([] { open_regression("shape_4tib_in_tiny_file"); });
  CHECK(message.find("past the end of the data section") != std::string::npos);
}

TEST_CASE("safetensors: a shape whose element count overflows int64 is rejected even with a 0") {
  // Found by reading core/io/safetensors_header.cpp for fuzz_safetensors: U8 [2^62, 3, 0] holds 0
  // bytes, so the byte-range check passed, and TensorInfo::numel() overflowed int64 (UBSan).
  const std::string message = format_error_of([] { open_regression("numel_overflow_zero_dim"); });
  CHECK(message.find("element count overflows 64 bits") != std::string::npos);
}

// What the readers must do with the inputs above once fixed (a typed error
// naming the file and the key). Under g++ without UBSan the float-to-int64 casts are silent,
// so these check the behaviour directly.

TEST_CASE("config.json: a number too large for a double is a FormatError") {
  CHECK_THROWS_AS(ag::models::config_from_json_text(
                      R"({"model_type": "bert", "vocab_size": 1e400})", "config.json"),
                  ag::FormatError);
}

TEST_CASE("config.json: an integer key holding a float outside int64 is a FormatError") {
  // Found by fuzz_config: nlohmann's get<int64_t>() casts the double, which is undefined
  // behaviour (UBSan: "3.3e+31 is outside the range of representable values of type 'long'").
  CHECK_THROWS_AS(ag::models::config_from_json_text(
                      R"({"model_type": "distilbert", "vocab_size": 3.3e31})", "config.json"),
                  ag::FormatError);
}

TEST_CASE("config.json: num_labels of 10^12 is a FormatError and not 10^12 label names") {
  // Found by fuzz_config: read_labels() pushed "LABEL_<i>" num_labels times (out of memory).
  CHECK_THROWS_AS(ag::models::config_from_json_text(
                      R"({"model_type": "bert", "num_labels": 1000000000000})", "config.json"),
                  ag::FormatError);
}

namespace {
void write_adapter_config(const fs::path& folder, const std::string& text) {
  fs::create_directories(folder);
  std::ofstream(folder / "adapter_config.json", std::ios::binary) << text;
}
}  // namespace

TEST_CASE("adapter_config.json: numbers too large for a double or for r are FormatErrors") {
  const fs::path folder = adaptgrad_fuzz::TempFolder::get().sub("expectations");
  write_adapter_config(folder, R"({"r": 4, "lora_alpha": 1e400, "target_modules": ["q_lin"]})");
  CHECK_THROWS_AS(ag::nn::read_adapter_config(folder.string()), ag::FormatError);
  write_adapter_config(folder, R"({"r": 1e30, "lora_alpha": 8, "target_modules": ["q_lin"]})");
  CHECK_THROWS_AS(ag::nn::read_adapter_config(folder.string()), ag::FormatError);
}

namespace {
template <class Call>
std::string data_error_of(Call call) {
  try {
    call();
  } catch (const ag::data::DataError& e) {
    return e.what();
  }
  return "";
}

std::string load_tokenizer_folder(const std::string& file_name, const std::string& contents,
                                  bool with_vocab) {
  const fs::path folder = adaptgrad_fuzz::TempFolder::get().sub("tokenizer-" + file_name);
  if (with_vocab) {
    fs::copy_file(adaptgrad_fuzz::fixture("tokenizer/uncased/vocab.txt"), folder / "vocab.txt",
                  fs::copy_options::overwrite_existing);
  }
  std::ofstream(folder / file_name, std::ios::binary) << contents;
  return data_error_of([&] { ag::data::BertTokenizer::from_pretrained(folder.string()); });
}
}  // namespace

TEST_CASE(
    "tokenizer.json: a vocabulary id far beyond the token count is rejected before allocating") {
  // Found by reading data/vocabulary.cpp for fuzz_tokenizer_json: a 40-byte file with the id
  // 2147483646 made from_tokenizer_json allocate 2^31 strings (64 GB) before checking that
  // the ids are contiguous.
  const std::string message = load_tokenizer_folder(
      "tokenizer.json",
      ag::read_file(kFuzzFolder / "regressions/tokenizer_json/vocab_id_2pow31_in_tiny_file",
                    kFuzzInput),
      false);
  CHECK(message.find("not contiguous: no token has id 1") != std::string::npos);
}

TEST_CASE("tokenizer.json: the id 2^63-1 is rejected without overflowing") {
  // Same place: max(id) + 1 overflowed int64 (UBSan: signed integer overflow).
  const std::string message = load_tokenizer_folder(
      "tokenizer.json",
      ag::read_file(kFuzzFolder / "regressions/tokenizer_json/vocab_id_int64_max", kFuzzInput),
      false);
  CHECK(message.find("not contiguous: no token has id 0") != std::string::npos);
}

TEST_CASE("tokenizer_config.json: a negative model_max_length is a DataError") {
  // Found by reading data/bert_tokenizer.cpp for fuzz_tokenizer_config: -1e300 was cast to
  // int64 (undefined behaviour).
  const std::string message =
      load_tokenizer_folder("tokenizer_config.json", R"({"model_max_length": -1e300})", true);
  CHECK(message.find("\"model_max_length\" must be positive") != std::string::npos);
}
