// A key file's trailing newline is not part of the key: `echo KEY > file` and
// kubectl's --from-literal must give the same key.
#include "broker/scripts/keyring.h"

#include <filesystem>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "broker/common/file_contents.h"

namespace credbroker {
namespace {

constexpr std::size_t kMaxKeyBytes = 4096;

bool IsScriptName(const std::string& name) {
  if (name.empty() || name.size() > 256 || name[0] == '.') return false;
  for (unsigned char c : name) {
    if (c < 0x21 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

Keyring::Keyring(std::string directory)
    : directory_(std::move(directory)), keys_(std::make_shared<const Keys>()) {}

absl::StatusOr<std::set<std::string>> Keyring::Reload() {
  namespace fs = std::filesystem;
  auto fresh = std::make_shared<Keys>();
  std::error_code error;
  fs::directory_iterator it(directory_, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot read keyring directory '", directory_, "': ", error.message()));
  }
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    // is_regular_file follows symlinks, as a mounted Secret's files are.
    if (!IsScriptName(name) || !entry.is_regular_file(error)) continue;
    std::optional<std::string> content = ReadFileContents(entry.path().string());
    if (!content) continue;
    std::string key = *std::move(content);
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    if (key.empty() || key.size() > kMaxKeyBytes) continue;
    (*fresh)[name] = std::move(key);
  }

  std::set<std::string> changed;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, key] : *fresh) {
    auto old = keys_->find(name);
    if (old == keys_->end() || old->second != key) changed.insert(name);
  }
  for (const auto& [name, key] : *keys_) {
    if (fresh->count(name) == 0) changed.insert(name);
  }
  keys_ = std::move(fresh);
  return changed;
}

std::optional<std::string> Keyring::KeyFor(absl::string_view script) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = keys_->find(script);
  if (it == keys_->end()) return std::nullopt;
  return it->second;
}

std::size_t Keyring::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_->size();
}

}  // namespace credbroker
