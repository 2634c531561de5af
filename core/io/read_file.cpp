#include "core/io/read_file.h"

#include <filesystem>
#include <fstream>
#include <vector>

#include "core/errors.h"

namespace ag {

std::string read_file(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error))
    throw Error(path, "file", "is a folder, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "file", "cannot be opened");

  std::string bytes;
  // Reserving the size up front keeps a large checkpoint from being copied as the string grows.
  if (const uintmax_t size = std::filesystem::file_size(path, error); !error) bytes.reserve(size);
  std::vector<char> chunk(1 << 20);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    bytes.append(chunk.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw Error(path, "file", "read error");
  return bytes;
}

}  // namespace ag
