#include "core/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <streambuf>
#include <system_error>
#include <vector>

#include "core/errors.h"

namespace ag {
namespace {

std::string describe_errno(int error_number) {
  return std::system_category().message(error_number);
}

// A std::streambuf that writes to a POSIX file descriptor.
//
// std::ofstream would be simpler, but it gives no access to the descriptor (needed for fsync)
// and reports a failed write only as a bit, without the reason. This buffer remembers the errno
// of the first failed write() so that "No space left on device" reaches the user.
class FileDescriptorBuffer : public std::streambuf {
 public:
  static constexpr size_t kBufferBytes = 64 * 1024;

  explicit FileDescriptorBuffer(int fd) : fd_(fd), buffer_(kBufferBytes) {
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }

  // errno of the first failed write, or 0 if every write so far succeeded.
  int first_error() const { return first_error_; }

 protected:
  // Called when the buffer is full: empty it to the file, then store `ch`.
  int_type overflow(int_type ch) override {
    if (!flush_buffer()) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }

  // Large writes (a whole tensor) skip the buffer instead of being copied through it.
  std::streamsize xsputn(const char* data, std::streamsize count) override {
    if (count < static_cast<std::streamsize>(buffer_.size())) {
      return std::streambuf::xsputn(data, count);
    }
    if (!flush_buffer() || !write_all(data, static_cast<size_t>(count))) return 0;
    return count;
  }

  // Called by ostream::flush().
  int sync() override { return flush_buffer() ? 0 : -1; }

 private:
  bool flush_buffer() {
    const bool ok = write_all(pbase(), static_cast<size_t>(pptr() - pbase()));
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return ok;
  }

  // write() may write fewer bytes than asked (or be interrupted by a signal): loop until done.
  bool write_all(const char* data, size_t count) {
    if (first_error_ != 0) return false;
    while (count > 0) {
      const ssize_t written = ::write(fd_, data, count);
      if (written < 0) {
        if (errno == EINTR) continue;
        first_error_ = errno;
        return false;
      }
      data += written;
      count -= static_cast<size_t>(written);
    }
    return true;
  }

  int fd_;
  std::vector<char> buffer_;
  int first_error_ = 0;
};

// After the rename, fsync the directory so that the new directory entry is durable too.
// Best effort: the file is already complete and in place, and some file systems refuse to
// fsync a directory, so a failure here is not reported.
void sync_parent_directory(const std::string& path) {
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) directory = ".";
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write) {
  // The pid in the name keeps two processes saving to the same path from sharing a temp file.
  const std::string temp_path = path + ".tmp." + std::to_string(::getpid());

  // 0666 (minus the umask) gives the usual permissions of a new file; mkstemp() would give 0600.
  int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    throw Error(path, "cannot create temporary file \"" + temp_path + "\"", describe_errno(errno));
  }

  try {
    FileDescriptorBuffer buffer(fd);
    std::ostream out(&buffer);
    write(out);
    out.flush();
    if (buffer.first_error() != 0) {
      throw Error(path, "writing \"" + temp_path + "\" failed",
                  describe_errno(buffer.first_error()));
    }
    if (!out) throw Error(path, "writing failed", "the output stream was left in a failed state");

    if (::fsync(fd) != 0) throw Error(path, "fsync failed", describe_errno(errno));
    const int close_result = ::close(fd);
    fd = -1;
    if (close_result != 0) throw Error(path, "close failed", describe_errno(errno));

    if (::rename(temp_path.c_str(), path.c_str()) != 0) {
      throw Error(path, "cannot rename \"" + temp_path + "\" into place", describe_errno(errno));
    }
  } catch (...) {
    // Whatever went wrong (our error or one thrown by `write`), leave no temp file behind and
    // let the exception continue to the caller. The old file at `path` was never touched.
    if (fd >= 0) ::close(fd);
    ::unlink(temp_path.c_str());
    throw;
  }
  sync_parent_directory(path);
}

void write_text_file_atomically(const std::string& path, std::string_view contents) {
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  });
}

}  // namespace ag
