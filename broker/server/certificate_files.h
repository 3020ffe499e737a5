// What the broker reads from its PEM files besides handing them to gRPC: when
// a certificate (or the first of a CA bundle) expires, and whether a key
// belongs to its certificate, so a mismatched pair stops the start with a
// message instead of failing every handshake.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace credbroker {

// The earliest notAfter among the certificates in a PEM file.
absl::StatusOr<absl::Time> EarliestExpiry(const std::string& pem_path);

// Whether the private key in `key_path` belongs to the first certificate in
// `cert_path`.
absl::Status CheckKeyPair(const std::string& cert_path, const std::string& key_path);

}  // namespace credbroker
