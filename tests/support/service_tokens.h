// Service tokens for tests that identify callers: the config block that names
// them (by SHA-256, as the broker requires) and a call context that presents
// one, so a test can speak as several callers of one broker.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>

namespace credbroker::testing {

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(const std::string& data);

// A `callers:` block with one service token per identity (identity → token),
// and a policy file text granting each of them every method.
std::string ServiceTokensYaml(const std::map<std::string, std::string>& tokens);
std::string AllowEveryMethodPolicy(const std::map<std::string, std::string>& tokens);

// A context presenting `token` as `authorization: Bearer …`, with a deadline.
std::unique_ptr<grpc::ClientContext> ContextAs(const std::string& token, int seconds = 20);

}  // namespace credbroker::testing
