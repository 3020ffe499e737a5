// A caller's request id is echoed into audit lines, so only short ids of
// safe characters are kept; anything else is replaced, not escaped.
#include "broker/api/call_context_factory.h"

#include <cstdint>
#include <random>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "broker/common/random.h"

namespace credbroker {
namespace {

bool IsSaneRequestId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Request ids correlate log lines; they are not secrets, so a per-thread
// generator seeded once from the CSPRNG serves (OpenSSL per call cost more
// than the policy, the cache and the caller's identity together).
std::string NewRequestId() {
  thread_local std::mt19937_64 generator = [] {
    const std::string seed = RandomBytes(sizeof(std::uint64_t) * 4);
    std::seed_seq sequence(seed.begin(), seed.end());
    return std::mt19937_64(sequence);
  }();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int half = 0; half < 2; ++half) {
    std::uint64_t bits = generator();
    for (int i = 0; i < 16; ++i, bits >>= 4) id[half * 16 + i] = kHex[bits & 0xF];
  }
  return id;
}

}  // namespace

std::string PeerAddress(absl::string_view peer) {
  absl::string_view rest = peer;
  if (absl::StartsWith(rest, "ipv4:")) {
    rest.remove_prefix(5);
    return std::string(rest.substr(0, rest.rfind(':')));
  }
  if (absl::StartsWith(rest, "ipv6:")) {
    rest.remove_prefix(5);
    rest = rest.substr(0, rest.rfind(':'));
    if (absl::StartsWith(rest, "[") && absl::EndsWith(rest, "]")) {
      rest = rest.substr(1, rest.size() - 2);
    }
    return std::string(rest);
  }
  return std::string(peer);
}

CallContext MakeCallContext(const grpc::CallbackServerContext& context,
                            const v1::ClientInfo* client) {
  CallContext call;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("x-request-id");
  if (it != metadata.end() &&
      IsSaneRequestId(absl::string_view(it->second.data(), it->second.size()))) {
    call.request_id = std::string(it->second.data(), it->second.size());
  } else {
    call.request_id = NewRequestId();
  }
  call.client_address = client != nullptr && !client->address().empty()
                            ? client->address()
                            : PeerAddress(context.peer());
  if (client != nullptr) call.user_agent = client->user_agent();
  const auto deadline = context.deadline();
  if (deadline < std::chrono::system_clock::time_point::max() - std::chrono::hours(24 * 365)) {
    call.deadline = absl::FromChrono(deadline);
  }
  return call;
}

}  // namespace credbroker
