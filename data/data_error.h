#pragma once
// The one exception type of the data/ library.
//
// Every message says where the problem is (file:line, or the byte offset of invalid UTF-8) and
// what was expected, so that an app can print it as one line and exit non-zero.

#include <stdexcept>
#include <string>

namespace ag::data {

class DataError : public std::runtime_error {
 public:
  explicit DataError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace ag::data
