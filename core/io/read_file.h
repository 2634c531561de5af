#pragma once
// Reading a whole file into memory: config files, adapter configs, safetensors checkpoints.

#include <string>

namespace ag {

// The bytes of the file at `path`, exactly (binary mode: no newline translation).
// Throws ag::Error naming the file if it is a folder, cannot be opened or cannot be read.
std::string read_file(const std::string& path);

}  // namespace ag
