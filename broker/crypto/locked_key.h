// Key bytes kept out of swap and out of core dumps: a page of its own,
// locked in memory (mlock), excluded from dumps (MADV_DONTDUMP), and wiped
// before it is returned to the system.
#pragma once

#include <cstddef>
#include <memory>

#include "absl/strings/string_view.h"

namespace credbroker {

class LockedKey {
 public:
  // Copies `bytes` into a locked page. Locking is best effort (a container's
  // RLIMIT_MEMLOCK may refuse it); exclusion from dumps always holds.
  static std::shared_ptr<const LockedKey> Copy(absl::string_view bytes);
  ~LockedKey();
  LockedKey(const LockedKey&) = delete;
  LockedKey& operator=(const LockedKey&) = delete;

  absl::string_view bytes() const { return {static_cast<const char*>(page_), size_}; }
  // Whether mlock succeeded, for the start-up log.
  bool locked() const { return locked_; }

 private:
  LockedKey(void* page, std::size_t page_size, std::size_t size, bool locked)
      : page_(page), page_size_(page_size), size_(size), locked_(locked) {}
  void* page_;
  std::size_t page_size_;
  std::size_t size_;
  bool locked_;
};

}  // namespace credbroker
