#pragma once
// Writing a file so that readers only ever see the old complete file or the new complete file.
//
// A checkpoint written in place can be left half-written by a crash, a full disk or an exception
// thrown halfway through; the next run then fails to load it (or worse, loads garbage). The
// classic fix, used here:
//   1. write everything to a temporary file next to the target ("<path>.tmp.<pid>"), so that it
//      lives on the same file system, which rename() needs;
//   2. flush it and fsync() it, so the bytes are on disk before the name points at them;
//   3. rename() it over the target: POSIX guarantees this replaces the name atomically;
//   4. fsync() the directory, so the rename itself survives a power cut.
// If anything fails, the temporary file is removed and the old file at `path` is untouched.

#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace ag {

// Calls `write` with a binary output stream; when it returns, its output replaces `path`.
// Throws ag::Error naming the path if the file cannot be written (directory missing, no
// permission, disk full...). If `write` throws, its exception propagates unchanged, after the
// temporary file has been removed.
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write);

// Convenience: replaces `path` with exactly the bytes of `contents`.
void write_text_file_atomically(const std::string& path, std::string_view contents);

}  // namespace ag
