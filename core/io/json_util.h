// Reading numbers out of JSON files safely (config.json, adapter_config.json).
//
// nlohmann's get<int64_t>() on a floating-point value casts it, which is undefined behaviour
// when the value is outside int64 (1e30), and reading a huge number can throw out_of_range
// rather than a parse error. These helpers turn every such case into an ag::FormatError that
// names the file and the key, and bound sizes so that a hostile file cannot ask for terabytes.
#pragma once

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "core/errors.h"

namespace ag {

// Parses `text` (any nlohmann exception becomes a FormatError naming `file`). The whole text
// must be one JSON value: nlohmann stops at a NUL byte as if the input ended there, so a file
// with a NUL and anything after it would otherwise be accepted. (JSON text never holds a raw
// NUL: inside strings it must be written \u0000.)
inline nlohmann::json parse_json(const std::string& text, const std::string& file) {
  if (const size_t nul = text.find('\0'); nul != std::string::npos)
    throw FormatError(file, "byte " + std::to_string(nul),
                      "is a NUL byte; expected JSON text (is the file binary or corrupted?)");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw FormatError(file, "byte " + std::to_string(e.byte), "is not valid JSON");
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(file, "JSON", std::string("cannot be read: ") + e.what());
  }
}

// An integer in [min, max]; integral floats (4.0) are accepted, others are errors.
inline int64_t json_integer(const nlohmann::json& v, const std::string& file,
                            const std::string& key, int64_t min, int64_t max) {
  const std::string where = "key \"" + key + "\"";
  if (v.is_number_integer()) {
    const bool negative = v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0;
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(max))
      throw FormatError(file, where, "is larger than " + std::to_string(max));
    const int64_t x = negative ? v.get<int64_t>() : int64_t(v.get<uint64_t>());
    if (x < min || x > max)
      throw FormatError(file, where,
                        "must be in [" + std::to_string(min) + ", " + std::to_string(max) +
                            "], got " + std::to_string(x));
    return x;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || d < double(min) || d > double(max))
      throw FormatError(
          file, where,
          "must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return int64_t(d);
  }
  throw FormatError(file, where, std::string("must be a number, got ") + v.type_name());
}

// A finite number.
inline double json_number(const nlohmann::json& v, const std::string& file,
                          const std::string& key) {
  if (!v.is_number())
    throw FormatError(file, "key \"" + key + "\"",
                      std::string("must be a number, got ") + v.type_name());
  const double d = v.get<double>();
  if (!std::isfinite(d)) throw FormatError(file, "key \"" + key + "\"", "must be finite");
  return d;
}

}  // namespace ag
