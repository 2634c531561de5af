#include "core/io/read_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/errors.h"

namespace ag {
namespace {

std::string system_error(int error_number) {
  return std::strerror(error_number);
}

// What a file that is not a regular file is, for "is ..., expected a regular file".
const char* file_type(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISCHR(mode)) return "a character device (like /dev/zero)";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a named pipe";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Refuses whatever `kind` does not read: anything but a regular file (or a pipe).
void check_file_type(const std::string& path, mode_t mode, const FileKind& kind) {
  if (S_ISREG(mode) || (S_ISFIFO(mode) && kind.pipe_ok)) return;
  throw Error(
      path, "file",
      std::string("is ") + file_type(mode) + ", expected a regular file (a " + kind.name + ")");
}

// The size `info` reports for a regular file (0 for a pipe); refuses one over the limit.
uint64_t reported_size(const std::string& path, const struct stat& info, const FileKind& kind) {
  const uint64_t reported = S_ISREG(info.st_mode) ? uint64_t(info.st_size) : 0;
  if (reported > kind.max_bytes)
    throw Error(path, "file",
                "is " + describe_size(reported) + " (" + std::to_string(reported) +
                    " bytes), more than the " + describe_size(kind.max_bytes) + " limit for a " +
                    kind.name);
  return reported;
}

// Closes the descriptor however the reading ends.
struct FileDescriptor {
  int fd;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string describe_size(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = double(bytes) / 1024.0;
  int unit = 0;
  while (value >= 1024.0 && unit < 5) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.4g %s", value, units[unit]);
  return text;
}

uint64_t checked_file_size(const std::string& path, const FileKind& kind) {
  // The type is checked before opening: opening a device can have effects, and opening a pipe
  // waits for a writer.
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    throw Error(path, "file", "cannot be opened: " + system_error(errno));
  check_file_type(path, info.st_mode, kind);
  return reported_size(path, info, kind);
}

std::string read_file(const std::string& path, const FileKind& kind) {
  checked_file_size(path, kind);
  // O_NONBLOCK: should the path be replaced by a pipe after stat(), open() must not wait; the
  // type is checked again on what was opened. (It changes nothing for a regular file.)
  FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | (kind.pipe_ok ? 0 : O_NONBLOCK))};
  if (file.fd < 0) throw Error(path, "file", "cannot be opened: " + system_error(errno));
  struct stat info {};
  if (::fstat(file.fd, &info) != 0)
    throw Error(path, "file", "cannot be read: " + system_error(errno));
  check_file_type(path, info.st_mode, kind);

  const bool regular = S_ISREG(info.st_mode);
  const uint64_t reported = reported_size(path, info, kind);
  // A regular file yields at most the bytes it reported; a pipe, and a kernel file reporting
  // 0 bytes, at most the limit.
  const bool bounded_by_size = regular && !(reported == 0 && kind.zero_size_ok);
  const uint64_t most = bounded_by_size ? reported : kind.max_bytes;

  std::string bytes;
  bytes.reserve(size_t(reported));  // a large checkpoint is not copied as the string grows
  std::vector<char> chunk(size_t(1) << 20);
  for (;;) {
    const ssize_t got = ::read(file.fd, chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error(path, "file", "read error: " + system_error(errno));
    if (got == 0) break;
    if (uint64_t(got) > most - bytes.size()) {
      if (bounded_by_size)
        throw Error(path, "file",
                    "holds more than the " + std::to_string(reported) +
                        " bytes its size says (it grew while being read, or is not an ordinary "
                        "file); expected a file that does not change");
      throw Error(path, "file",
                  "holds more than the " + describe_size(most) + " limit for a " + kind.name);
    }
    bytes.append(chunk.data(), size_t(got));
  }
  return bytes;
}

}  // namespace ag
