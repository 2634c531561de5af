#include "apps/common/run_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>

#include <nlohmann/json.hpp>

#include "apps/common/run_outputs.h"
#include "core/errors.h"
#include "core/io/read_file.h"

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

// "a character device", "a FIFO", ...: what is at a path that is not a regular file.
std::string kind_of(const fs::path& p, const fs::file_status& s) {
  switch (s.type()) {
    case fs::file_type::directory:
      return "a folder";
    case fs::file_type::character:
      return "a character device";
    case fs::file_type::block:
      return "a block device";
    case fs::file_type::fifo:
      return "a FIFO (named pipe)";
    case fs::file_type::socket:
      return "a socket";
    case fs::file_type::symlink: {
      std::error_code ec;
      const fs::path target = fs::read_symlink(p, ec);
      return "a symbolic link" + (ec ? std::string() : " (to " + target.string() + ")");
    }
    default:
      return "not a regular file";
  }
}

// A train run's settings: a JSON object with the keys every train_config.json has.
bool holds_run_settings(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return false;
  const nlohmann::json j =
      nlohmann::json::parse(read_file(file.string(), kSettingsFile), nullptr, false);
  return j.is_object() && j.contains("model") && j.contains("method");
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

void check_output_folder(const NamedPath& out) {
  std::error_code ec;
  const fs::file_status s = fs::status(out.path, ec);
  if (!ec && fs::exists(s) && !fs::is_directory(s))
    throw Error(out.flag + " " + out.path + " is " + kind_of(out.path, s) +
                ", not a folder: choose a folder for " + out.flag);
}

void check_output_file(const NamedPath& out, const std::vector<NamedPath>& inputs) {
  if (out.path.empty()) return;
  std::error_code ec;
  const fs::file_status s = fs::symlink_status(out.path, ec);
  // The output goes to a temporary name and is renamed over `out`: a device, FIFO or link
  // there would be replaced by a regular file (or the rename would fail halfway).
  if (!ec && fs::exists(s) && !fs::is_regular_file(s))
    throw Error(out.flag + " " + out.path + " is " + kind_of(out.path, s) +
                ", not a regular file: writing there would replace it; choose a file name");
  check_output_apart_from_inputs(out, inputs);
}

RunFolderLock::RunFolderLock(const std::string& dir) {
  // The folders this lock creates, innermost first: removed again if the run is refused.
  for (fs::path p = real_path(dir); !p.empty() && !fs::exists(p); p = p.parent_path()) {
    created_folders_.push_back(p.string());
    if (p == p.parent_path()) break;
  }
  try {
    fs::create_directories(dir);
  } catch (...) {
    release();  // the outer folders it did create
    throw;
  }
  lock_path_ = (fs::path(dir) / kRunLockFile).string();
  fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  created_lock_file_ = fd_ >= 0;
  if (fd_ < 0 && errno == EEXIST) fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) {
    const std::string reason = errno_text();
    release();
    throw Error(lock_path_ + ": cannot create the lock file: " + reason);
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char pid[32] = {};
    const ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, size_t(n)) : "";
    holder.erase(std::remove(holder.begin(), holder.end(), '\n'), holder.end());
    release();
    if (error != EWOULDBLOCK) throw Error(lock_path_ + ": cannot lock: " + std::strerror(error));
    throw Error(dir + " is in use by another train process (PID " +
                (holder.empty() ? "unknown" : holder) + ", lock " + lock_path_ +
                "): wait for it to end or choose another --out");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != ssize_t(pid.size())) {
    const std::string reason = errno_text();
    release();
    throw Error(lock_path_ + ": cannot write the lock file: " + reason);
  }
}

RunFolderLock::~RunFolderLock() {
  release();
}

void RunFolderLock::release() {
  // Unlinked while still locked, so that no other process can have taken the lock meanwhile.
  if (!keep_ && created_lock_file_) ::unlink(lock_path_.c_str());
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock; a kept file stays for the next run
  fd_ = -1;
  if (!keep_)
    for (const std::string& folder : created_folders_)
      if (::rmdir(folder.c_str()) != 0) break;  // not empty: something else is in it now
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

bool is_train_run_folder(const std::string& dir) {
  return holds_run_settings(fs::path(dir) / "train_config.json") ||
         holds_run_settings(fs::path(dir) / "checkpoint" / "train_config.json");
}

std::vector<std::string> folder_entries(const std::string& dir) {
  std::vector<std::string> found;
  if (!fs::is_directory(dir)) return found;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename() != kRunLockFile) found.push_back(entry.path().filename().string());
  std::sort(found.begin(), found.end());
  return found;
}

std::string describe_entries(const std::vector<std::string>& names) {
  std::string text;
  for (size_t i = 0; i < std::min<size_t>(names.size(), 3); ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > 3) text += ", ...";
  return text;
}

void check_run_folder(const std::string& dir, bool resume, bool overwrite, std::ostream& log) {
  if (const int n = remove_stale_temporaries(dir))
    log << "removed " << n << " temporary file(s) left in " << dir << " by a killed run\n";
  if (resume) return;
  const std::vector<std::string> found = folder_entries(dir);
  if (found.empty()) return;
  const bool run = is_train_run_folder(dir);
  if (overwrite && run) return;  // removed by remove_previous_run(), after the checks
  if (overwrite)
    throw Error("--overwrite: --out " + dir + " holds files (" + describe_entries(found) +
                ") but no train_config.json of a train run: --overwrite only replaces a run "
                "train wrote; choose another --out");
  throw Error("--out " + dir + " already holds files (" + describe_entries(found) + "): " +
              (run ? "continue that run with --resume " + dir +
                         ", replace it with --overwrite, or choose another --out"
                   : std::string("it is not a train run folder; choose another --out")));
}

void remove_previous_run(const std::string& dir, std::ostream& log) {
  int removed = 0;
  for (const std::string& name : run_file_names()) removed += int(fs::remove(fs::path(dir) / name));
  std::error_code not_empty;  // sub-folders go only when nothing else is in them
  for (const char* sub : {"checkpoint", "base-model"}) fs::remove(fs::path(dir) / sub, not_empty);
  if (removed) log << "--overwrite: removed the " << removed << " files of the previous run\n";
}

}  // namespace ag::apps
