// Reads a whole (small) file: configuration, keys, certificates, policy.
#pragma once

#include <optional>
#include <string>

namespace credbroker {

// The file's bytes, or nullopt when it cannot be opened or read. Callers say
// which file and why in their own error.
std::optional<std::string> ReadFileContents(const std::string& path);

}  // namespace credbroker
