#include "apps/common/run_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>

#include "apps/common/run_outputs.h"
#include "core/errors.h"

namespace fs = std::filesystem;

namespace ag::apps {
namespace {

// The real path of `p` (symbolic links and ".." resolved as far as the path exists).
fs::path real_path(const std::string& p) {
  std::error_code ec;
  fs::path r = fs::weakly_canonical(fs::absolute(p), ec);
  if (ec) r = fs::absolute(p).lexically_normal();
  if (r.has_relative_path() && r.filename().empty()) r = r.parent_path();  // "dir/" -> "dir"
  return r;
}

// True when `inner` is `outer` or lies somewhere below it.
bool is_within(const fs::path& inner, const fs::path& outer) {
  auto [o, i] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
  return o == outer.end();
}

// "<name>.tmp.<digits>", the temporary name of core/io/atomic_file.h.
bool is_temporary_name(const std::string& name) {
  const size_t at = name.rfind(".tmp.");
  if (at == std::string::npos || at == 0 || at + 5 == name.size()) return false;
  return std::all_of(name.begin() + long(at + 5), name.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

void check_output_apart_from_inputs(const NamedPath& out, const std::vector<NamedPath>& inputs) {
  const fs::path o = real_path(out.path);
  for (const NamedPath& in : inputs) {
    if (in.path.empty() || !fs::exists(in.path)) continue;
    const fs::path i = real_path(in.path);
    const char* relation = o == i            ? "is"
                           : is_within(o, i) ? "is inside"
                           : is_within(i, o) ? "contains"
                                             : nullptr;
    if (relation)
      throw Error(out.flag + " " + out.path + " " + relation + " the " + in.flag + " input " +
                  in.path + " (real path " + i.string() +
                  "): writing there would overwrite an input; choose another " + out.flag);
  }
}

RunFolderLock::RunFolderLock(const std::string& dir) {
  fs::create_directories(dir);
  const std::string path = (fs::path(dir) / kRunLockFile).string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(path + ": cannot create the lock file: " + errno_text());
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char pid[32] = {};
    const ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, size_t(n)) : "";
    holder.erase(std::remove(holder.begin(), holder.end(), '\n'), holder.end());
    ::close(fd_);
    fd_ = -1;
    if (error != EWOULDBLOCK) throw Error(path + ": cannot lock: " + std::strerror(error));
    throw Error(dir + " is in use by another train process (PID " +
                (holder.empty() ? "unknown" : holder) + ", lock " + path +
                "): wait for it to end or choose another --out");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != ssize_t(pid.size()))
    throw Error(path + ": cannot write the lock file: " + errno_text());
}

RunFolderLock::~RunFolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock; the file stays for the next run
}

int remove_stale_temporaries(const std::string& dir) {
  int removed = 0;
  for (const fs::path& folder :
       {fs::path(dir), fs::path(dir) / "checkpoint", fs::path(dir) / "base-model"}) {
    if (!fs::is_directory(folder)) continue;
    for (const auto& entry : fs::directory_iterator(folder))
      if (entry.is_regular_file() && is_temporary_name(entry.path().filename().string()))
        removed += int(fs::remove(entry.path()));
  }
  return removed;
}

void prepare_run_folder(const std::string& dir, bool resume, bool overwrite, std::ostream& log) {
  if (const int n = remove_stale_temporaries(dir))
    log << "removed " << n << " temporary file(s) left in " << dir << " by a killed run\n";
  if (resume) return;
  if (overwrite) {
    int removed = 0;
    for (const std::string& name : run_file_names())
      removed += int(fs::remove(fs::path(dir) / name));
    std::error_code not_empty;  // sub-folders go only when nothing else is in them
    for (const char* sub : {"checkpoint", "base-model"}) fs::remove(fs::path(dir) / sub, not_empty);
    if (removed) log << "--overwrite: removed the " << removed << " files of the previous run\n";
    return;
  }
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename() != kRunLockFile) found.push_back(entry.path().filename().string());
  if (found.empty()) return;
  std::sort(found.begin(), found.end());
  std::string names;
  for (size_t i = 0; i < std::min<size_t>(found.size(), 3); ++i)
    names += (i ? ", " : "") + found[i];
  if (found.size() > 3) names += ", ...";
  throw Error("--out " + dir + " already holds files (" + names + "): continue that run with " +
              "--resume " + dir + ", replace it with --overwrite, or choose another --out");
}

}  // namespace ag::apps
