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

#include "fuzz/fuzz_entries.h"

namespace {

namespace fs = std::filesystem;

const fs::path kFuzzFolder = fs::path(ADAPTGRAD_FIXTURES).parent_path() / "fuzz";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in, "cannot read " << path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

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

// Runs one input through its target.
void replay(const adaptgrad_fuzz::Target& target, const fs::path& file) {
  const std::string bytes = read_file(file);
  INFO("fuzz_" << target.name << " on " << file.string());
  try {
    target.entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  } catch (const std::exception& e) {
    FAIL("undocumented exception escaped the reader: " << e.what());
  } catch (...) {
    FAIL("a non-std exception escaped the reader");
  }
}

#if defined(__SANITIZE_ADDRESS__)
#define ADAPTGRAD_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ADAPTGRAD_UNDER_ASAN 1
#endif
#endif

// While the inputs are replayed the process may not map more than 4 GiB: a reader that tries
// to allocate what a lying file asks for gets std::bad_alloc (and the test case fails) instead
// of taking the machine's memory. Not under AddressSanitizer, which maps terabytes of shadow.
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
int replay_folder(const std::string& kind) {
  const AddressSpaceCap cap;
  int count = 0;
  if (!fs::is_directory(kFuzzFolder / kind)) return 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(kFuzzFolder / kind)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    const adaptgrad_fuzz::Target* target = find_target(name);
    INFO(kind << " folder " << entry.path().string());
    REQUIRE_MESSAGE(target != nullptr, "no fuzz target named '" << name << "'");
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
  const std::string bytes = read_file(kFuzzFolder / "regressions" / "safetensors" / name);
  return ag::safetensors::File::open_from_buffer(bytes, name);
}

}  // namespace

TEST_CASE("every fuzz target has a seed corpus") {
  for (const adaptgrad_fuzz::Target& target : adaptgrad_fuzz::kTargets) {
    INFO("tests/fuzz/corpus/" << target.name);
    CHECK(!files_in(kFuzzFolder / "corpus" / target.name).empty());
    CHECK(fs::exists(kFuzzFolder / (std::string("fuzz_") + target.name + ".cpp")));
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
