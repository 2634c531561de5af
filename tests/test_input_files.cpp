// Files of a model, tokenizer or adapter folder that are not what they claim: a device
// (/dev/zero, /dev/urandom), a named pipe, a /proc file, a file larger than its kind allows.
// Each is refused by ag::read_file with one line naming the file (and the limit), before the
// memory fills up; and a tokenizer without a padding token is refused at load.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "core/errors.h"
#include "core/io/file_digest.h"
#include "core/io/read_file.h"
#include "data/bert_tokenizer.h"
#include "data/data_error.h"
#include "fixture.h"
#include "models/pretrained.h"
#include "nn/adapter_io.h"

namespace fs = std::filesystem;
using fixture::TempDir;

// The message of the ag::Error or DataError that `f` throws, or "" when it throws none.
static std::string any_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const ag::Error& e) {
    return e.what();
  } catch (const ag::data::DataError& e) {
    return e.what();
  }
  return "";
}

// A copy of the tiny DistilBERT folder with its tokenizer, whose file `name` is then replaced
// by a symbolic link to `target`.
static void copy_model_folder(const TempDir& dir) {
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(fixture::path(std::string("tiny-distilbert/") + f), dir.path / f);
  for (const char* f : {"vocab.txt", "tokenizer_config.json"})
    fs::copy_file(fixture::path(std::string("tokenizer/uncased/") + f), dir.path / f);
}

static void link_to(const TempDir& dir, const std::string& name, const std::string& target) {
  fs::remove(dir.path / name);
  fs::create_symlink(target, dir.path / name);
}

TEST_CASE("read_file: only regular files, never a device") {
  CHECK(any_error([] { ag::read_file("/dev/zero", ag::kSettingsFile); }) ==
        "/dev/zero: file: is a character device (like /dev/zero), expected a regular file (a "
        "JSON settings file)");
  CHECK(any_error([] {
          ag::read_file("/dev/urandom", ag::kTokenizerFile);
        }).find("/dev/urandom: file: is a character device") == 0);
  const TempDir dir;
  CHECK(any_error([&] {
          ag::read_file(dir.path.string(), ag::kSettingsFile);
        }).find(": file: is a folder, expected a regular file") != std::string::npos);
  CHECK(any_error([&] {
          ag::read_file(dir.file("absent"), ag::kSettingsFile);
        }).find("absent: file: cannot be opened: No such file or directory") != std::string::npos);
  CHECK(ag::read_file(dir.write("ok.json", std::string("{}\0\n", 4)), ag::kSettingsFile) ==
        std::string("{}\0\n", 4));
}

TEST_CASE("read_file: a file larger than its kind's limit, by its reported size") {
  const TempDir dir;
  // Sparse files: the size is reported, no byte is written to disk.
  const std::string big_json = dir.write("config.json", "");
  fs::resize_file(big_json, 64 * ag::kMiB + 1);
  CHECK(any_error([&] { ag::read_file(big_json, ag::kSettingsFile); }) ==
        big_json +
            ": file: is 64 MiB (67108865 bytes), more than the 64 MiB limit for a JSON "
            "settings file");
  fs::resize_file(big_json, 64 * ag::kMiB);  // exactly the limit: read
  CHECK(ag::read_file(big_json, ag::kSettingsFile).size() == 64 * ag::kMiB);
  const std::string big_vocab = dir.write("vocab.txt", "");
  fs::resize_file(big_vocab, 300 * ag::kMiB);
  CHECK(any_error([&] {
          ag::read_file(big_vocab, ag::kTokenizerFile);
        }).find("more than the 256 MiB limit for a tokenizer file") != std::string::npos);
  CHECK(ag::describe_size(300) == "300 bytes");
  CHECK(ag::describe_size(3 * ag::kMiB / 2) == "1.5 MiB");
}

TEST_CASE("read_file: /proc files report 0 bytes; only kernel files may hold more") {
  // /proc/self/status is a regular file of reported size 0 that holds a few hundred bytes.
  CHECK(ag::read_file("/proc/self/status", ag::kKernelFile).find("Name:") == 0);
  CHECK(any_error([] { ag::read_file("/proc/self/status", ag::kWeightsFile); }) ==
        "/proc/self/status: file: holds more than the 0 bytes its size says (it grew while being "
        "read, or is not an ordinary file); expected a file that does not change");
}

TEST_CASE("read_file: a named pipe is refused without waiting, unless the kind is a stream") {
  const TempDir dir;
  const std::string fifo = dir.file("config.json");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // No writer: reading it would wait forever, but it is refused before it is opened.
  CHECK(any_error([&] { ag::read_file(fifo, ag::kSettingsFile); }) ==
        fifo + ": file: is a named pipe, expected a regular file (a JSON settings file)");
  constexpr ag::FileKind stream{"test stream", 16, /*pipe_ok=*/true};
  for (const std::string& text : {std::string("0123456789abcdef"), std::string(17, 'x')}) {
    // The writer's bytes fit in the pipe's buffer: it never waits for the reader.
    std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << text; });
    std::string read;
    const std::string message = any_error([&] { read = ag::read_file(fifo, stream); });
    writer.join();
    CHECK(read == (text.size() <= 16 ? text : ""));
    CHECK(message == (text.size() <= 16
                          ? ""
                          : fifo + ": file: holds more than the 16 bytes limit for a test stream"));
  }
}

TEST_CASE("a model folder whose files are devices: one error naming the file, nothing read") {
  const TempDir dir;
  copy_model_folder(dir);
  CHECK(any_error([&] { ag::models::from_pretrained(dir.path.string()); }) == "");
  link_to(dir, "config.json", "/dev/zero");
  CHECK(any_error([&] { ag::models::from_pretrained(dir.path.string()); }) ==
        dir.file("config.json") +
            ": file: is a character device (like /dev/zero), expected a regular file (a JSON "
            "settings file)");
  fs::remove(dir.path / "config.json");
  fs::copy_file(fixture::path("tiny-distilbert/config.json"), dir.path / "config.json");
  link_to(dir, "model.safetensors", "/dev/zero");
  CHECK(any_error([&] {
          ag::models::from_pretrained(dir.path.string());
        }).find(dir.file("model.safetensors") + ": file: is a character device") == 0);
  link_to(dir, "model.safetensors", "/proc/self/status");
  CHECK(any_error([&] {
          ag::models::from_pretrained(dir.path.string());
        }).find(dir.file("model.safetensors") + ": file: holds more than the 0 bytes") == 0);

  link_to(dir, "vocab.txt", "/dev/urandom");
  CHECK(any_error([&] { ag::data::BertTokenizer::from_pretrained(dir.path.string()); }) ==
        dir.file("vocab.txt") +
            ": file: is a character device (like /dev/zero), expected a regular file (a "
            "tokenizer file)");
  fs::remove(dir.path / "vocab.txt");
  fs::copy_file(fixture::path("tokenizer/uncased/vocab.txt"), dir.path / "vocab.txt");
  link_to(dir, "tokenizer_config.json", "/dev/zero");
  CHECK(any_error([&] {
          ag::data::BertTokenizer::from_pretrained(dir.path.string());
        }).find(dir.file("tokenizer_config.json") + ": file: is a character device") == 0);

  const TempDir adapter;
  link_to(adapter, "adapter_config.json", "/dev/zero");
  CHECK(any_error([&] {
          ag::nn::read_adapter_config(adapter.path.string());
        }).find(adapter.file("adapter_config.json") + ": file: is a character device") == 0);
}

TEST_CASE("a tokenizer folder without the padding token is refused at load, naming the file") {
  const TempDir dir;
  dir.write("vocab.txt", "[UNK]\n[CLS]\n[SEP]\nhello\n");
  CHECK(any_error([&] { ag::data::BertTokenizer::from_pretrained(dir.path.string()); }) ==
        dir.file("vocab.txt") +
            ": the vocabulary has no padding token \"[PAD]\" (the tokenizer's pad_token; batches "
            "are padded with it)");
  // The token tokenizer_config.json names is the one looked for.
  dir.write("tokenizer_config.json", R"({"pad_token": "<pad>"})");
  CHECK(any_error([&] {
          ag::data::BertTokenizer::from_pretrained(dir.path.string());
        }).find("no padding token \"<pad>\"") != std::string::npos);
  dir.write("vocab.txt", "[UNK]\n[CLS]\n[SEP]\n<pad>\n");
  CHECK(ag::data::BertTokenizer::from_pretrained(dir.path.string()).pad_id() == 3);
}

TEST_CASE("the digest of the base weights refuses a device instead of hashing it forever") {
  const TempDir dir;
  CHECK(ag::fnv1a64_file(dir.write("w.safetensors", "foobar")) == 0x85944171f73967e8ull);
  link_to(dir, "model.safetensors", "/dev/zero");
  CHECK(any_error([&] {
          ag::fnv1a64_file(dir.file("model.safetensors"));
        }).find(dir.file("model.safetensors") + ": file: is a character device") == 0);
}
