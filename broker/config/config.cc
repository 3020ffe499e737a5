// yaml-cpp throws on malformed documents and wrong types; every throw is
// caught here and reported with the key it concerns.
#include "broker/config/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "broker/common/file_contents.h"
#include "broker/common/hex.h"
#include "broker/common/status_macros.h"

namespace credbroker {
namespace {

constexpr char kUsage[] =
    "usage: credential-broker --config FILE [--listen HOST:PORT] [--log-level LEVEL] "
    "[--port-file FILE]\n"
    "environment: CREDBROKER_CONFIG, CREDBROKER_LISTEN, CREDBROKER_LOG_LEVEL (flags win)";

absl::Status KeyError(absl::string_view key, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("config key '", key, "': ", problem));
}

absl::Status CheckKnownKeys(const YAML::Node& map, absl::string_view path,
                            const std::set<std::string>& known) {
  if (!map.IsMap()) return KeyError(path.empty() ? "(top level)" : path, "must be a mapping");
  for (const auto& item : map) {
    const std::string key = item.first.as<std::string>();
    if (known.count(key) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown config key '", path.empty() ? "" : absl::StrCat(path, "."), key,
                       "' (known here: ", absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadString(const YAML::Node& map, const char* key, absl::string_view path,
                        std::string* out) {
  const YAML::Node node = map[key];
  if (!node) return absl::OkStatus();
  if (!node.IsScalar()) return KeyError(absl::StrCat(path, key), "must be a string");
  *out = node.as<std::string>();
  return absl::OkStatus();
}

absl::Status ReadInt(const YAML::Node& map, const char* key, absl::string_view path, int min,
                     int max, int* out) {
  const YAML::Node node = map[key];
  if (!node) return absl::OkStatus();
  int value = 0;
  if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &value)) {
    return KeyError(absl::StrCat(path, key), "must be a whole number");
  }
  if (value < min || value > max) {
    return KeyError(absl::StrCat(path, key), absl::StrCat("must be between ", min, " and ", max));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status ReadSeconds(const YAML::Node& map, const char* key, absl::string_view path, int min,
                         int max, absl::Duration* out) {
  int seconds = static_cast<int>(absl::ToInt64Seconds(*out));
  RETURN_IF_ERROR(ReadInt(map, key, path, min, max, &seconds));
  *out = absl::Seconds(seconds);
  return absl::OkStatus();
}

absl::Status ReadMillis(const YAML::Node& map, const char* key, absl::string_view path, int min,
                        int max, absl::Duration* out) {
  int millis = static_cast<int>(absl::ToInt64Milliseconds(*out));
  RETURN_IF_ERROR(ReadInt(map, key, path, min, max, &millis));
  *out = absl::Milliseconds(millis);
  return absl::OkStatus();
}

bool IsSiteName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

// The authority (user@host:port) of an http(s) URL.
absl::string_view UrlAuthority(absl::string_view url) {
  absl::string_view rest = url.substr(url.find("://") + 3);
  return rest.substr(0, rest.find_first_of("/?#"));
}

// The host of an http(s) URL without user information, for the loopback rule.
std::string UrlHost(absl::string_view url) {
  const absl::string_view authority = UrlAuthority(url);
  if (absl::StartsWith(authority, "[")) {
    return std::string(authority.substr(1, authority.find(']') - 1));
  }
  return std::string(authority.substr(0, authority.find(':')));
}

absl::Status ReadSite(const YAML::Node& node, int index, SiteEndpoint* site) {
  const std::string path = absl::StrCat("sites[", index, "].");
  RETURN_IF_ERROR(
      CheckKnownKeys(node, absl::StrCat("sites[", index, "]"),
                     {"name", "url", "ca_file", "connect_timeout_ms", "request_timeout_ms",
                      "max_concurrent_requests", "max_queued_requests"}));
  RETURN_IF_ERROR(
      ReadInt(node, "max_concurrent_requests", path, 1, 65536, &site->max_concurrent_requests));
  RETURN_IF_ERROR(
      ReadInt(node, "max_queued_requests", path, 0, 1'000'000, &site->max_queued_requests));
  RETURN_IF_ERROR(ReadString(node, "name", path, &site->name));
  RETURN_IF_ERROR(ReadString(node, "url", path, &site->base_url));
  RETURN_IF_ERROR(ReadString(node, "ca_file", path, &site->ca_file));
  RETURN_IF_ERROR(ReadMillis(node, "connect_timeout_ms", path, 100, 60000, &site->connect_timeout));
  RETURN_IF_ERROR(
      ReadMillis(node, "request_timeout_ms", path, 100, 120000, &site->request_timeout));
  if (!IsSiteName(site->name)) {
    return KeyError(path + "name", "must be 1-64 letters, digits, '-', '_' or '.'");
  }
  std::string& url = site->base_url;
  while (absl::EndsWith(url, "/")) url.pop_back();
  const bool https = absl::StartsWith(url, "https://");
  const bool http = absl::StartsWith(url, "http://");
  if (!https && !http) return KeyError(path + "url", "must start with https://");
  // user@host would make the loopback check read the wrong host.
  if (absl::StrContains(UrlAuthority(url), "@")) {
    return KeyError(path + "url", "must not carry user information (user@host)");
  }
  if (UrlHost(url).empty()) return KeyError(path + "url", "has no host");
  if (http && !IsLoopbackHost(UrlHost(url))) {
    return KeyError(path + "url",
                    "http:// is only allowed for a loopback host; passwords would cross the "
                    "network in clear text: use https://");
  }
  if (!site->ca_file.empty() && !std::ifstream(site->ca_file).good()) {
    return KeyError(path + "ca_file", absl::StrCat("cannot read '", site->ca_file, "'"));
  }
  return absl::OkStatus();
}

absl::Status ReadBool(const YAML::Node& map, const char* key, absl::string_view path, bool* out) {
  const YAML::Node node = map[key];
  if (!node) return absl::OkStatus();
  if (!node.IsScalar() || (node.Scalar() != "true" && node.Scalar() != "false")) {
    return KeyError(absl::StrCat(path, key), "must be true or false");
  }
  *out = node.Scalar() == "true";
  return absl::OkStatus();
}

absl::Status ReadCallers(const YAML::Node& callers, Config* config) {
  RETURN_IF_ERROR(CheckKnownKeys(callers, "callers",
                                 {"client_ca_file", "service_tokens", "allow_anonymous",
                                  "allow_anonymous_remote", "allow_common_name"}));
  CallerAuthSettings& settings = config->callers;
  RETURN_IF_ERROR(ReadString(callers, "client_ca_file", "callers.", &settings.client_ca_file));
  RETURN_IF_ERROR(ReadBool(callers, "allow_anonymous", "callers.", &settings.allow_anonymous));
  RETURN_IF_ERROR(ReadBool(callers, "allow_anonymous_remote", "callers.",
                           &config->allow_anonymous_remote_callers));
  RETURN_IF_ERROR(ReadBool(callers, "allow_common_name", "callers.", &settings.allow_common_name));
  const YAML::Node tokens = callers["service_tokens"];
  if (tokens && !tokens.IsSequence()) {
    return KeyError("callers.service_tokens", "must be a list of {identity, sha256}");
  }
  for (std::size_t i = 0; tokens && i < tokens.size(); ++i) {
    const std::string path = absl::StrCat("callers.service_tokens[", i, "]");
    RETURN_IF_ERROR(CheckKnownKeys(tokens[i], path, {"identity", "sha256"}));
    ServiceTokenEntry entry;
    RETURN_IF_ERROR(ReadString(tokens[i], "identity", path + ".", &entry.identity));
    RETURN_IF_ERROR(ReadString(tokens[i], "sha256", path + ".", &entry.sha256));
    if (entry.identity.empty()) return KeyError(path + ".identity", "is required");
    // The broker names the caller "token:" + identity; a ':' here could make
    // it look like a certificate's name, and "anonymous" means no credential.
    if (!IsServiceTokenName(entry.identity)) {
      return KeyError(path + ".identity",
                      "must be a bare name without ':' and not 'anonymous' (the broker calls "
                      "the caller token:NAME)");
    }
    // Only digests belong in a config file: a token here would be a secret at rest.
    if (!IsLowercaseHex(entry.sha256, 64)) {
      return KeyError(path + ".sha256",
                      "must be the token's SHA-256 as 64 lowercase hex characters "
                      "(printf %s TOKEN | sha256sum), never the token itself");
    }
    settings.service_tokens.push_back(std::move(entry));
  }
  return absl::OkStatus();
}

absl::Status ReadServer(const YAML::Node& server, Config* config) {
  RETURN_IF_ERROR(CheckKnownKeys(
      server, "server",
      {"max_concurrent_streams", "keepalive_min_ping_interval_seconds",
       "max_connection_idle_seconds", "max_connection_age_seconds", "caller_max_in_flight",
       "site_call_threads", "drain_seconds", "shutdown_grace_seconds"}));
  RETURN_IF_ERROR(ReadInt(server, "max_concurrent_streams", "server.", 1, 100000,
                          &config->max_concurrent_streams));
  RETURN_IF_ERROR(ReadSeconds(server, "keepalive_min_ping_interval_seconds", "server.", 1, 3600,
                              &config->keepalive_min_ping_interval));
  RETURN_IF_ERROR(ReadSeconds(server, "max_connection_idle_seconds", "server.", 1, 86400,
                              &config->max_connection_idle));
  RETURN_IF_ERROR(ReadSeconds(server, "max_connection_age_seconds", "server.", 10, 604800,
                              &config->max_connection_age));
  RETURN_IF_ERROR(ReadInt(server, "caller_max_in_flight", "server.", 1, 1'000'000,
                          &config->caller_max_in_flight));
  RETURN_IF_ERROR(ReadInt(server, "site_call_threads", "server.", 1, CurlLoops::kMaxLoops,
                          &config->site_call_threads));
  RETURN_IF_ERROR(ReadSeconds(server, "drain_seconds", "server.", 0, 300, &config->shutdown_drain));
  return ReadSeconds(server, "shutdown_grace_seconds", "server.", 0, 3600, &config->shutdown_grace);
}

absl::Status ReadRedis(const YAML::Node& redis, RedisConfig* out) {
  RETURN_IF_ERROR(CheckKnownKeys(redis, "store.redis",
                                 {"address", "password_file", "database", "key_prefix",
                                  "connect_timeout_ms", "command_timeout_ms"}));
  RETURN_IF_ERROR(ReadString(redis, "address", "store.redis.", &out->address));
  RETURN_IF_ERROR(ReadString(redis, "password_file", "store.redis.", &out->password_file));
  RETURN_IF_ERROR(ReadInt(redis, "database", "store.redis.", 0, 15, &out->database));
  RETURN_IF_ERROR(ReadString(redis, "key_prefix", "store.redis.", &out->key_prefix));
  RETURN_IF_ERROR(
      ReadMillis(redis, "connect_timeout_ms", "store.redis.", 10, 60000, &out->connect_timeout));
  RETURN_IF_ERROR(
      ReadMillis(redis, "command_timeout_ms", "store.redis.", 10, 60000, &out->command_timeout));
  if (out->address.empty()) return KeyError("store.redis.address", "is required (HOST:PORT)");
  std::string host;
  int port = 0;
  if (absl::Status s = SplitHostPort(out->address, &host, &port); !s.ok() || port == 0) {
    return KeyError("store.redis.address", "must be HOST:PORT");
  }
  return absl::OkStatus();
}

absl::Status ReadStore(const YAML::Node& store, Config* config) {
  RETURN_IF_ERROR(CheckKnownKeys(store, "store", {"memory", "redis"}));
  if (store["memory"] && store["redis"]) {
    return KeyError("store", "name one store: memory or redis, not both");
  }
  if (const YAML::Node redis = store["redis"]) RETURN_IF_ERROR(ReadRedis(redis, &config->redis));
  if (const YAML::Node memory = store["memory"]) {
    RETURN_IF_ERROR(CheckKnownKeys(memory, "store.memory", {"max_entries"}));
    RETURN_IF_ERROR(ReadInt(memory, "max_entries", "store.memory.", 100, 100'000'000,
                            &config->memory_store_max_entries));
  }
  return absl::OkStatus();
}

absl::Status ApplyLogLevel(absl::string_view name, absl::string_view key, Config* config) {
  absl::StatusOr<LogLevel> level = ParseLogLevel(name);
  if (!level.ok()) return KeyError(key, level.status().message());
  config->log_level = *level;
  return absl::OkStatus();
}

absl::Status ParseTopLevel(const YAML::Node& root, Config* config) {
  RETURN_IF_ERROR(CheckKnownKeys(root, "",
                                 {"listen",
                                  "default_site",
                                  "sites",
                                  "tls",
                                  "challenge",
                                  "failure_budget",
                                  "script_tokens",
                                  "seal_key_file",
                                  "seal_accepted_key_files",
                                  "log_level",
                                  "max_request_bytes",
                                  "health_listen",
                                  "metrics_listen",
                                  "callers",
                                  "keyring_dir",
                                  "policy_file",
                                  "server",
                                  "store",
                                  "reflection",
                                  "sessions",
                                  "browser_login"}));
  RETURN_IF_ERROR(ReadString(root, "listen", "", &config->listen));
  RETURN_IF_ERROR(ReadString(root, "default_site", "", &config->default_site));
  RETURN_IF_ERROR(ReadString(root, "health_listen", "", &config->health_listen));
  RETURN_IF_ERROR(ReadString(root, "metrics_listen", "", &config->metrics_listen));
  RETURN_IF_ERROR(ReadString(root, "keyring_dir", "", &config->keyring_dir));
  RETURN_IF_ERROR(ReadString(root, "policy_file", "", &config->policy_file));
  RETURN_IF_ERROR(ReadBool(root, "reflection", "", &config->reflection));
  if (const YAML::Node callers = root["callers"]) RETURN_IF_ERROR(ReadCallers(callers, config));
  RETURN_IF_ERROR(ReadString(root, "seal_key_file", "", &config->seal_key_file));
  if (const YAML::Node accepted = root["seal_accepted_key_files"]) {
    if (!accepted.IsSequence()) {
      return KeyError("seal_accepted_key_files", "must be a list of key file paths");
    }
    for (std::size_t i = 0; i < accepted.size(); ++i) {
      if (!accepted[i].IsScalar() || accepted[i].Scalar().empty()) {
        return KeyError(absl::StrCat("seal_accepted_key_files[", i, "]"), "must be a file path");
      }
      config->seal_accepted_key_files.push_back(accepted[i].Scalar());
    }
  }
  if (const YAML::Node server = root["server"]) RETURN_IF_ERROR(ReadServer(server, config));
  if (const YAML::Node sessions = root["sessions"]) {
    RETURN_IF_ERROR(
        CheckKnownKeys(sessions, "sessions", {"idle_timeout_seconds", "max_lifetime_seconds"}));
    RETURN_IF_ERROR(ReadSeconds(sessions, "idle_timeout_seconds", "sessions.", 60, 90 * 86400,
                                &config->session_idle_timeout));
    RETURN_IF_ERROR(ReadSeconds(sessions, "max_lifetime_seconds", "sessions.", 60, 365 * 86400,
                                &config->session_max_lifetime));
  }
  if (const YAML::Node store = root["store"]) RETURN_IF_ERROR(ReadStore(store, config));
  RETURN_IF_ERROR(ReadInt(root, "max_request_bytes", "", 64 * 1024, 16 * 1024 * 1024,
                          &config->max_request_bytes));
  std::string log_level;
  RETURN_IF_ERROR(ReadString(root, "log_level", "", &log_level));
  if (!log_level.empty()) RETURN_IF_ERROR(ApplyLogLevel(log_level, "log_level", config));

  const YAML::Node sites = root["sites"];
  if (sites && !sites.IsSequence()) return KeyError("sites", "must be a list of {name, url}");
  for (std::size_t i = 0; sites && i < sites.size(); ++i) {
    SiteEndpoint site;
    RETURN_IF_ERROR(ReadSite(sites[i], static_cast<int>(i), &site));
    for (const SiteEndpoint& other : config->sites) {
      if (other.name == site.name) {
        return KeyError(absl::StrCat("sites[", i, "].name"),
                        absl::StrCat("'", site.name, "' is listed twice"));
      }
    }
    config->sites.push_back(std::move(site));
  }
  if (const YAML::Node tls = root["tls"]) {
    RETURN_IF_ERROR(
        CheckKnownKeys(tls, "tls", {"cert_file", "key_file", "reload_interval_seconds"}));
    RETURN_IF_ERROR(ReadString(tls, "cert_file", "tls.", &config->tls.cert_file));
    RETURN_IF_ERROR(ReadString(tls, "key_file", "tls.", &config->tls.key_file));
    RETURN_IF_ERROR(
        ReadSeconds(tls, "reload_interval_seconds", "tls.", 1, 3600, &config->tls.reload_interval));
  }
  if (const YAML::Node challenge = root["challenge"]) {
    RETURN_IF_ERROR(CheckKnownKeys(challenge, "challenge",
                                   {"lifetime_seconds", "max_attempts", "max_per_person"}));
    RETURN_IF_ERROR(
        ReadInt(challenge, "max_per_person", "challenge.", 1, 20, &config->challenges_per_person));
    RETURN_IF_ERROR(ReadSeconds(challenge, "lifetime_seconds", "challenge.", 1, 3600,
                                &config->challenge_lifetime));
    RETURN_IF_ERROR(
        ReadInt(challenge, "max_attempts", "challenge.", 1, 9, &config->challenge_attempts));
  }
  if (const YAML::Node budget = root["failure_budget"]) {
    RETURN_IF_ERROR(CheckKnownKeys(budget, "failure_budget",
                                   {"max_failures", "window_seconds", "per_address_max_failures",
                                    "per_address_window_seconds"}));
    RETURN_IF_ERROR(
        ReadInt(budget, "max_failures", "failure_budget.", 1, 9, &config->max_failures));
    RETURN_IF_ERROR(ReadSeconds(budget, "window_seconds", "failure_budget.", 60, 86400,
                                &config->failure_window));
    RETURN_IF_ERROR(ReadInt(budget, "per_address_max_failures", "failure_budget.", 1, 1'000'000,
                            &config->per_address_max_failures));
    RETURN_IF_ERROR(ReadSeconds(budget, "per_address_window_seconds", "failure_budget.", 60, 86400,
                                &config->per_address_failure_window));
    // The site locks a person out after 10 failures an hour: no setting may
    // let that many through.
    const int per_hour = MostFailuresPerHour(config->max_failures, config->failure_window);
    if (per_hour >= 10) {
      return KeyError(
          "failure_budget.max_failures",
          absl::StrCat("with failure_budget.window_seconds ",
                       absl::ToInt64Seconds(config->failure_window), ", ", config->max_failures,
                       " failures per window could let ", per_hour,
                       " failed logins reach the site within one hour, and the site locks a "
                       "person out at 10; lower failure_budget.max_failures or raise "
                       "failure_budget.window_seconds"));
    }
  }
  if (const YAML::Node scripts = root["script_tokens"]) {
    RETURN_IF_ERROR(CheckKnownKeys(
        scripts, "script_tokens",
        {"min_validity_seconds", "renew_after_percent", "session_token_reuse_seconds"}));
    RETURN_IF_ERROR(ReadSeconds(scripts, "min_validity_seconds", "script_tokens.", 0, 3600,
                                &config->script_token_min_validity));
    int percent = 80;
    RETURN_IF_ERROR(ReadInt(scripts, "renew_after_percent", "script_tokens.", 10, 95, &percent));
    config->script_token_renew_after = percent / 100.0;
    // Above min_validity, or a reused session token would never be served.
    RETURN_IF_ERROR(ReadSeconds(scripts, "session_token_reuse_seconds", "script_tokens.", 120,
                                7 * 86400, &config->session_token_reuse));
  }
  if (const YAML::Node browser = root["browser_login"]) {
    RETURN_IF_ERROR(
        CheckKnownKeys(browser, "browser_login", {"app_name", "machine_id", "poll_interval_ms"}));
    RETURN_IF_ERROR(ReadString(browser, "app_name", "browser_login.", &config->browser_app_name));
    RETURN_IF_ERROR(
        ReadString(browser, "machine_id", "browser_login.", &config->browser_machine_id));
    RETURN_IF_ERROR(ReadMillis(browser, "poll_interval_ms", "browser_login.", 10, 60000,
                               &config->browser_poll_interval));
    if (config->browser_app_name.empty() || config->browser_app_name.size() > 256) {
      return KeyError("browser_login.app_name", "must be 1 to 256 characters");
    }
    if (config->browser_machine_id.size() > 256) {
      return KeyError("browser_login.machine_id", "must be at most 256 characters");
    }
  }
  return absl::OkStatus();
}

std::string EnvOr(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

}  // namespace

int MostFailuresPerHour(int max_failures, absl::Duration window) {
  // A failure leaves the window `window` after the broker saw the site's
  // answer, later than the site counted it: a full window's worth can follow
  // at 0, window, 2*window, ..., and ceil(hour / window) of those bursts fall
  // within one hour.
  const int64_t hour = absl::ToInt64Seconds(absl::Hours(1));
  const int64_t seconds = std::max<int64_t>(1, absl::ToInt64Seconds(window));
  return max_failures * static_cast<int>(std::min<int64_t>((hour + seconds - 1) / seconds, 1000));
}

bool IsLoopbackHost(absl::string_view host) {
  if (host == "localhost") return true;
  const std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, text.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

absl::Status SplitHostPort(absl::string_view address, std::string* host, int* port) {
  const std::size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat("'", address, "' is not HOST:PORT"));
  }
  absl::string_view h = address.substr(0, colon);
  if (absl::StartsWith(h, "[") && absl::EndsWith(h, "]")) h = h.substr(1, h.size() - 2);
  if (!absl::SimpleAtoi(address.substr(colon + 1), port) || *port < 0 || *port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("'", address, "' has no valid port"));
  }
  *host = std::string(h);
  return absl::OkStatus();
}

absl::StatusOr<Config> ParseConfig(const std::string& yaml_text, const std::string& source) {
  Config config;
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    if (absl::Status parsed = ParseTopLevel(root, &config); !parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": ", parsed.message()));
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": not valid YAML: line ", e.mark.line + 1, ": ", e.msg));
  }
  return config;
}

absl::Status CheckConfig(const Config& config) {
  if (config.listen.empty()) return KeyError("listen", "is required (HOST:PORT)");
  std::string host;
  int port = 0;
  if (absl::Status s = SplitHostPort(config.listen, &host, &port); !s.ok()) {
    return KeyError("listen", s.message());
  }
  if (config.tls.cert_file.empty() != config.tls.key_file.empty()) {
    return KeyError("tls", "needs both cert_file and key_file");
  }
  if (!IsLoopbackHost(host) && !config.tls.enabled()) {
    return KeyError("listen", absl::StrCat("'", config.listen,
                                           "' is not a loopback address: set tls.cert_file and "
                                           "tls.key_file, since passwords cross this connection"));
  }
  if (!IsLoopbackHost(host) && !config.callers.enabled() &&
      !config.allow_anonymous_remote_callers) {
    return KeyError("listen",
                    absl::StrCat("'", config.listen,
                                 "' is not a loopback address and callers are not identified: set "
                                 "callers.client_ca_file or callers.service_tokens, or accept "
                                 "anonymous remote callers with callers.allow_anonymous_remote"));
  }
  if (!config.callers.client_ca_file.empty() && !config.tls.enabled()) {
    return KeyError("callers.client_ca_file", "client certificates need listener tls");
  }
  for (const auto& [key, file] :
       {std::pair{"tls.cert_file", &config.tls.cert_file},
        std::pair{"tls.key_file", &config.tls.key_file},
        std::pair{"callers.client_ca_file", &config.callers.client_ca_file},
        std::pair{"policy_file", &config.policy_file},
        std::pair{"seal_key_file", &config.seal_key_file}}) {
    if (!file->empty() && !std::ifstream(*file).good()) {
      return KeyError(key, absl::StrCat("cannot read '", *file, "'"));
    }
  }
  for (const auto& [key, address] : {std::pair{"health_listen", &config.health_listen},
                                     std::pair{"metrics_listen", &config.metrics_listen}}) {
    if (address->empty()) continue;
    if (absl::Status s = SplitHostPort(*address, &host, &port); !s.ok()) {
      return KeyError(key, s.message());
    }
  }
  if (config.redis.enabled() && config.seal_key_file.empty()) {
    return KeyError("store.redis",
                    "needs seal_key_file: every replica must open every record the others "
                    "sealed, so they must share the sealing key");
  }
  if (!config.redis.password_file.empty() && !std::ifstream(config.redis.password_file).good()) {
    return KeyError("store.redis.password_file",
                    absl::StrCat("cannot read '", config.redis.password_file, "'"));
  }
  if (config.sites.empty()) return KeyError("sites", "is required: list at least one {name, url}");
  if (config.default_site.empty()) return KeyError("default_site", "is required");
  bool found = false;
  for (const SiteEndpoint& site : config.sites) found = found || site.name == config.default_site;
  if (!found) {
    return KeyError("default_site",
                    absl::StrCat("'", config.default_site, "' is not the name of a listed site"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> LoadConfig(int argc, char** argv) {
  std::string config_path = EnvOr("CREDBROKER_CONFIG", "");
  std::string listen = EnvOr("CREDBROKER_LISTEN", "");
  std::string log_level = EnvOr("CREDBROKER_LOG_LEVEL", "");
  std::string port_file;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return absl::InvalidArgumentError(kUsage);
    std::string* target = arg == "--config"      ? &config_path
                          : arg == "--listen"    ? &listen
                          : arg == "--log-level" ? &log_level
                          : arg == "--port-file" ? &port_file
                                                 : nullptr;
    if (target == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag '", arg, "'\n", kUsage));
    }
    if (i + 1 >= argc)
      return absl::InvalidArgumentError(absl::StrCat("flag ", arg, " needs a value"));
    *target = argv[++i];
  }
  if (config_path.empty())
    return absl::InvalidArgumentError(absl::StrCat("--config is required\n", kUsage));
  std::optional<std::string> text = ReadFileContents(config_path);
  if (!text)
    return absl::NotFoundError(absl::StrCat("cannot read config file '", config_path, "'"));
  absl::StatusOr<Config> config = ParseConfig(*text, config_path);
  if (!config.ok()) return config.status();
  if (!listen.empty()) config->listen = listen;
  if (!log_level.empty()) {
    if (absl::Status s = ApplyLogLevel(log_level, "--log-level", &*config); !s.ok()) return s;
  }
  config->port_file = port_file;
  if (absl::Status s = CheckConfig(*config); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(config_path, ": ", s.message()));
  }
  return config;
}

}  // namespace credbroker
