// The broker's script keys, read from a directory laid out as a mounted
// Kubernetes Secret: one file per script, the file name is the script name
// and the content its key. Hidden entries (`..data`, `..2026_...`) are the
// Secret's machinery and are skipped. Keys never leave this class except to
// the site call that needs them.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace credbroker {

class Keyring {
 public:
  explicit Keyring(std::string directory);

  // Reads the directory again. Answers the scripts whose key was added,
  // changed or removed since the last load; keeps the old keys when the
  // directory cannot be read.
  absl::StatusOr<std::set<std::string>> Reload();

  std::optional<std::string> KeyFor(absl::string_view script) const;
  std::size_t size() const;

 private:
  using Keys = std::map<std::string, std::string, std::less<>>;

  const std::string directory_;
  mutable std::mutex mu_;
  std::shared_ptr<const Keys> keys_;
};

}  // namespace credbroker
