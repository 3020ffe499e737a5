// The broker's configuration: a YAML file, then environment variables, then
// flags, each overriding the one before. Anything unknown or out of range
// stops the start with a message naming the key.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/identity/caller_identity.h"
#include "broker/telemetry/logger.h"
#include "broker/upstream/curl_site_client.h"

namespace credbroker {

struct ListenerTls {
  std::string cert_file;
  std::string key_file;
  // How often the certificate, key and client CA files are checked for a
  // new version (cert-manager renewals, the kubelet's ..data swap).
  absl::Duration reload_interval = absl::Seconds(30);
  bool enabled() const { return !cert_file.empty(); }
};

struct RedisConfig {
  std::string address;  // host:port; empty: no Redis
  std::string password_file;
  int database = 0;
  std::string key_prefix = "credbroker:";
  absl::Duration connect_timeout = absl::Milliseconds(1000);
  absl::Duration command_timeout = absl::Milliseconds(500);
  bool enabled() const { return !address.empty(); }
};

struct Config {
  std::string listen;
  // Optional plaintext listener serving only grpc.health.v1, for probes
  // (Kubernetes' native gRPC probes speak no TLS). No secrets cross it.
  std::string health_listen;
  // Optional plaintext listener serving Prometheus' text format at /metrics.
  std::string metrics_listen;
  std::string default_site;
  std::vector<SiteEndpoint> sites;
  ListenerTls tls;
  absl::Duration challenge_lifetime = absl::Seconds(300);
  int challenge_attempts = 5;
  // Live challenges per person; a new one replaces the oldest beyond it.
  int challenges_per_person = 3;
  // Failures per (site, username) per rolling window, and per end-user
  // address across all usernames.
  int max_failures = 5;
  absl::Duration failure_window = absl::Hours(1);
  int per_address_max_failures = 100;
  absl::Duration per_address_failure_window = absl::Hours(1);
  // gRPC server limits (see docs/security.md).
  int max_concurrent_streams = 1024;
  absl::Duration keepalive_min_ping_interval = absl::Seconds(10);
  absl::Duration max_connection_idle = absl::Minutes(15);
  absl::Duration max_connection_age = absl::Minutes(30);
  int caller_max_in_flight = 4096;
  // Threads carrying site calls, each with its own connections; a login's
  // work after the site answers runs there too. Fixed at start.
  int site_call_threads = 4;
  // After SIGTERM: how long the broker keeps serving while health already
  // says NOT_SERVING (endpoints and balancers catch up), then how long calls
  // in flight get to finish, site calls included.
  absl::Duration shutdown_drain = absl::Seconds(5);
  absl::Duration shutdown_grace = absl::Seconds(20);
  // Keys the memory store holds at most.
  int memory_store_max_entries = 1'000'000;
  // Held sessions (broker custody): gone after this long without a refresh,
  // and this long after the login whatever happens.
  absl::Duration session_idle_timeout = absl::Hours(24);
  absl::Duration session_max_lifetime = absl::Hours(24 * 14);
  // The shared store for replicas; absent (empty address): the memory store.
  RedisConfig redis;
  absl::Duration script_token_min_validity = absl::Seconds(60);
  // Share of a script token's lifetime after which it is renewed.
  double script_token_renew_after = 0.8;
  // How long a script's session token (which has no lifetime) is reused.
  absl::Duration session_token_reuse = absl::Hours(1);
  // Browser-approved logins: the name and machine shown on the approval page
  // when the caller gives none (empty machine: this host's name), and how
  // often the site is asked whether the person approved.
  std::string browser_app_name = "credential-broker";
  std::string browser_machine_id;
  absl::Duration browser_poll_interval = absl::Seconds(2);
  // Who callers are (mTLS, service tokens); empty: everyone is "anonymous".
  CallerAuthSettings callers;
  // Off loopback, callers must be identified unless this says otherwise.
  bool allow_anonymous_remote_callers = false;
  // One file per script (name = script, content = key), e.g. a mounted Secret.
  std::string keyring_dir;
  // Who may call what, use which keyring scripts and act as whom.
  std::string policy_file;
  // 32 raw bytes, or their base64; empty means a random key per process.
  std::string seal_key_file;
  // Keys that open sealed records but never seal (key rotation), same form.
  std::vector<std::string> seal_accepted_key_files;
  LogLevel log_level = LogLevel::kInfo;
  int max_request_bytes = 64 * 1024;
  // Server reflection on the API listener (never on health_listen).
  bool reflection = true;
  // Where to write the bound port (for tests and scripts using port 0).
  std::string port_file;
};

// Parses YAML text. `source` names the file in messages.
absl::StatusOr<Config> ParseConfig(const std::string& yaml_text, const std::string& source);

// Reads --config FILE and applies CREDBROKER_* environment variables and the
// other flags (--listen, --log-level, --port-file). Answers the usage text as
// an error for --help.
absl::StatusOr<Config> LoadConfig(int argc, char** argv);

// Checks rules that span keys (e.g. non-loopback listening needs TLS).
absl::Status CheckConfig(const Config& config);

// The most failures a budget of `max_failures` per rolling `window` could let
// reach the site within one hour.
int MostFailuresPerHour(int max_failures, absl::Duration window);

// Whether `host` is a loopback name or address (localhost, 127.0.0.0/8, ::1).
bool IsLoopbackHost(absl::string_view host);
// Splits "host:port" / "[v6]:port" into host and port.
absl::Status SplitHostPort(absl::string_view address, std::string* host, int* port);

}  // namespace credbroker
