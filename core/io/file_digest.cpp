#include "core/io/file_digest.h"

#include <cstdio>
#include <fstream>
#include <vector>

#include "core/errors.h"
#include "core/io/read_file.h"

namespace ag {

uint64_t fnv1a64(std::string_view bytes, uint64_t h) {
  for (unsigned char b : bytes) h = (h ^ b) * 0x100000001b3ull;
  return h;
}

uint64_t fnv1a64_file(const std::string& path) {
  // The digested files are model weights: a device such as /dev/zero would be hashed forever.
  const uint64_t size = checked_file_size(path, kWeightsFile);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open to compute its digest");
  std::vector<char> chunk(1 << 20);
  uint64_t h = kFnv1a64Offset, total = 0;
  while (in) {
    in.read(chunk.data(), std::streamsize(chunk.size()));
    total += uint64_t(in.gcount());
    if (total > size)
      throw Error(path + ": holds more than the " + std::to_string(size) +
                  " bytes its size says while computing its digest (it grew while being read, "
                  "or is not an ordinary file)");
    h = fnv1a64(std::string_view(chunk.data(), size_t(in.gcount())), h);
  }
  if (in.bad()) throw Error(path + ": read error while computing its digest");
  return h;
}

std::string fnv1a64_digest_text(uint64_t h) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return std::string(kFnv1a64Name) + ":" + hex;
}

}  // namespace ag
