#pragma once
// FNV-1a, 64-bit: a cheap, deterministic fingerprint of bytes (not cryptographic).
//
// A run folder records the digest of the base weights its adapter was trained on, so that a
// later reader can tell "the same base" from "another base with the same shapes" without
// keeping a copy. FNV-1a is one multiply and one xor per byte:
//   h = 0xcbf29ce484222325;  for each byte b: h = (h ^ b) * 0x100000001b3
#include <cstdint>
#include <string>
#include <string_view>

namespace ag {

inline constexpr uint64_t kFnv1a64Offset = 0xcbf29ce484222325ull;
inline constexpr const char* kFnv1a64Name = "fnv1a-64";

// Continues the hash `h` over `bytes` (start with kFnv1a64Offset).
uint64_t fnv1a64(std::string_view bytes, uint64_t h = kFnv1a64Offset);

// The hash of a whole file's bytes; throws ag::Error naming the file when it cannot be read.
uint64_t fnv1a64_file(const std::string& path);

// "fnv1a-64:cbf29ce484222325": the algorithm's name and the value as 16 hex digits.
std::string fnv1a64_digest_text(uint64_t h);

}  // namespace ag
