// One page per key: keys are few (the active one and those kept for rotation),
// and a page of its own means no other data shares its dump exclusion.
#include "broker/crypto/locked_key.h"

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace credbroker {

std::shared_ptr<const LockedKey> LockedKey::Copy(absl::string_view bytes) {
  const std::size_t page_size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  if (bytes.size() > page_size) std::abort();  // Keys are 32 bytes; this is a programming slip.
  void* page = mmap(nullptr, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) std::abort();
  madvise(page, page_size, MADV_DONTDUMP);
  const bool locked = mlock(page, page_size) == 0;
  std::memcpy(page, bytes.data(), bytes.size());
  return std::shared_ptr<const LockedKey>(new LockedKey(page, page_size, bytes.size(), locked));
}

LockedKey::~LockedKey() {
  OPENSSL_cleanse(page_, page_size_);
  if (locked_) munlock(page_, page_size_);
  munmap(page_, page_size_);
}

}  // namespace credbroker
