// Fuzzes turning gRPC's peer string ("ipv4:10.0.0.7:5123", "ipv6:[::1]:5123",
// "unix:...") into the end user's address that goes into audit lines.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "broker/api/call_context_factory.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view peer(reinterpret_cast<const char*>(data), size);
  const std::string address = credbroker::PeerAddress(peer);
  // The address is always a piece of the peer string, never more.
  FUZZ_CHECK(address.size() <= peer.size());
  FUZZ_CHECK(peer.find(address) != absl::string_view::npos);
  return 0;
}
