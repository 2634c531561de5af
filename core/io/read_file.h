#pragma once
// Reading a whole input file into memory: config files, tokenizer files, safetensors
// checkpoints, kernel files. The one reader every such input goes through.
//
// A model folder is input the user may not control: config.json can be a symlink to /dev/zero,
// vocab.txt to /dev/urandom, model.safetensors to /proc/self/pagemap. Read naively, those fill
// the memory (tens of GB) before anything fails. So the reader
//   - accepts only regular files (and named pipes for the kinds that are streams): a device, a
//     socket or a folder is refused before a byte is read;
//   - refuses a file larger than the limit of its kind, by the size the file system reports;
//   - never reads more bytes than a regular file reported: a file that grows while it is read,
//     or a /proc file that reports 0 bytes and holds gigabytes, is refused, not read on.
// Every refusal is one ag::Error line naming the file and, for sizes, the limit.

#include <cstdint>
#include <string>

namespace ag {

// What a file is read as: its size limit, and how messages call it.
struct FileKind {
  const char* name;           // "JSON settings file", for messages
  uint64_t max_bytes;         // larger files are refused
  bool pipe_ok = false;       // a named pipe (a stream): read to its end, up to max_bytes
  bool zero_size_ok = false;  // the size reported may be 0 for a file that holds bytes (/proc)
};

inline constexpr uint64_t kMiB = uint64_t(1) << 20;

// config.json, adapter_config.json, tokenizer_config.json, run records: kilobytes in practice.
inline constexpr FileKind kSettingsFile{"JSON settings file", 64 * kMiB};
// vocab.txt, tokenizer.json: bert-base-uncased's are 0.2 and 0.7 MB, multilingual ones a few MB.
inline constexpr FileKind kTokenizerFile{"tokenizer file", 256 * kMiB};
// model.safetensors, adapter_model.safetensors: bounded by the size the file reports (a model
// of the largest accepted size, 2^32 float64 parameters, is 32 GiB).
inline constexpr FileKind kWeightsFile{"weights file", uint64_t(64) << 30};
// /proc and /sys files: a few bytes, though the kernel reports a size of 0 (or 4096).
inline constexpr FileKind kKernelFile{"kernel file", 1 * kMiB, false, true};

// The bytes of the file at `path`, exactly (no newline translation). Throws ag::Error naming
// the file when it is not a regular file (or a pipe, if `kind` allows one), cannot be opened
// or read, holds more than `kind.max_bytes`, or more than its reported size.
std::string read_file(const std::string& path, const FileKind& kind);

// The checks read_file makes before reading, for readers that stream a file instead of holding
// it (file digests): throws the same errors for a file that is not a regular file (or a pipe,
// if `kind` allows one) or is larger than `kind.max_bytes`; returns its reported size.
uint64_t checked_file_size(const std::string& path, const FileKind& kind);

// "300 bytes", "64 MiB", "1.5 GiB": a size for messages.
std::string describe_size(uint64_t bytes);

}  // namespace ag
