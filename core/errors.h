#pragma once
// The exception types adaptgrad throws. Each message names the file, the key/line/offset and
// what was expected; an app prints it as one `error:` line and exits non-zero.
//
// A library function that is handed bad input throws one of these; an app catches ag::Error,
// prints e.what() as one line to stderr and exits non-zero. The message should let the user
// fix the problem without a debugger, so it names
//   - the file (or the function, for errors that are not about a file),
//   - where in it: a key, a line or a byte offset,
//   - and what was expected versus what was found.
// The three-argument constructor builds such a message in one fixed layout:
//   "model.safetensors: tensor \"classifier.weight\": expected dtype F32, found I64"

#include <stdexcept>
#include <string>

namespace ag {

// Base class of every adaptgrad error: catch this in apps.
struct Error : std::runtime_error {
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  Error(const std::string& file, const std::string& location, const std::string& problem)
      : std::runtime_error(file + ": " + location + ": " + problem) {}
};

// A file (or buffer) does not follow its format: truncated, corrupted, wrong key, bad JSON...
struct FormatError : Error {
  using Error::Error;
};

// Tensor shapes do not fit together (wrong number of elements, mismatched dimensions...).
struct ShapeError : Error {
  using Error::Error;
};

}  // namespace ag
