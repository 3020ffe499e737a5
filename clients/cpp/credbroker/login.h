// Login(): a person's password login through the broker, with the site's
// two-factor step: BeginLogin, then SubmitSecondFactor with codes from a
// CodeProvider until the broker answers a Session or a final error.
// ExchangeSessionToken(): a ShotGrid session token (from shotgun_api3,
// Toolkit or a browser login) for REST tokens.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "credbroker/broker_error.h"
#include "credbroker/v1/broker.grpc.pb.h"

namespace credbroker::client {

// What the code provider is told when the site asks for a code.
struct Challenge {
  std::string challenge_id;
  int attempts_left = 0;
  std::chrono::system_clock::time_point expire_time;
  // Null on the first ask; on a re-ask, the INVALID_SECOND_FACTOR error the
  // previous code got (its attempts_left equals the field above).
  const BrokerError* previous_error = nullptr;
};

// Returns the person's code (TOTP digits or a backup code). May throw to
// abandon the login; the exception propagates out of Login().
using CodeProvider = std::function<std::string(const Challenge&)>;

struct LoginOptions {
  // Empty: the broker's default site.
  std::string site;
  // Deadline of each call.
  std::chrono::milliseconds timeout = std::chrono::seconds(10);  // kDefaultTimeout
  // The person's code when it is known up front: BeginLogin carries it and
  // no challenge round trip is needed.
  std::string code;
  // With `code`, BeginLogin goes through this stub, which must be on a
  // channel without retries (ChannelOptions::enable_retries = false): a
  // repeated login with a code counts twice against the person's failure
  // budget. Null: the `stub` argument is used, so give one without retries.
  v1::CredentialBroker::StubInterface* no_retry_stub = nullptr;
  // Who keeps the refresh token. TOKEN_CUSTODY_BROKER answers a session_id.
  v1::TokenCustody custody = v1::TOKEN_CUSTODY_CALLER;
  // CREDENTIAL_KIND_SESSION_TOKEN: the Session carries session_token (for
  // /api3/json: shotgun_api3, Toolkit) and no REST tokens; caller custody
  // only (with TOKEN_CUSTODY_BROKER the broker answers INVALID_REQUEST).
  v1::CredentialKind kind = v1::CREDENTIAL_KIND_REST;
};

// Logs in and returns the Session (caller custody: access and refresh
// token). Re-asks `codes` after INVALID_SECOND_FACTOR while attempts are
// left. Throws BrokerError for every failed call (INVALID_CREDENTIALS,
// INVALID_SECOND_FACTOR with attempts_left 0, CHALLENGE_NOT_FOUND, ...), and
// std::invalid_argument if the site asks for a code and `codes` is empty.
v1::Session Login(v1::CredentialBroker::StubInterface& stub, const std::string& username,
                  const std::string& password, const CodeProvider& codes,
                  const LoginOptions& options = {});

struct ExchangeOptions {
  // Empty: the broker's default site.
  std::string site;
  // TOKEN_CUSTODY_BROKER: the broker keeps the refresh token and the Session
  // carries session_id.
  v1::TokenCustody custody = v1::TOKEN_CUSTODY_CALLER;
  std::chrono::milliseconds timeout = std::chrono::seconds(10);
};

// ExchangeSessionToken: REST access and refresh tokens for a session token.
// The Session names no principal (the site's answer does not say whose
// tokens they are). Throws BrokerError: INVALID_CREDENTIALS when the site
// refuses the session token, INVALID_REQUEST when it is empty or too long.
v1::Session ExchangeSessionToken(v1::CredentialBroker::StubInterface& stub,
                                 const std::string& session_token,
                                 const ExchangeOptions& options = {});

// The Timestamp as a time_point.
std::chrono::system_clock::time_point ToTimePoint(const google::protobuf::Timestamp& timestamp);

}  // namespace credbroker::client
