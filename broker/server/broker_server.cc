// Member order in BrokerServer is construction order: the site client and
// store exist before the flows that use them, and outlive the gRPC server.
#include "broker/server/broker_server.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/common/file_contents.h"
#include "broker/server/certificate_files.h"
#include "broker/server/metrics_interceptor.h"
#include "broker/server/reflection_option.h"
#include "broker/telemetry/metrics.h"

namespace credbroker {
namespace {

constexpr char kServiceName[] = "credbroker.v1.CredentialBroker";

void Wipe(std::string& s) { OPENSSL_cleanse(s.data(), s.size()); }

// A key file holds 32 raw bytes or their base64. Every copy read is wiped.
absl::StatusOr<std::string> ReadSealKey(const std::string& key_name, const std::string& path) {
  std::optional<std::string> content = ReadFileContents(path);
  if (!content) {
    return absl::InvalidArgumentError(
        absl::StrCat("config key '", key_name, "': cannot read '", path, "'"));
  }
  std::string key = *std::move(content);
  if (key.size() == Sealer::kKeyBytes) return key;
  std::string decoded;
  const bool ok = absl::Base64Unescape(absl::StripAsciiWhitespace(key), &decoded) &&
                  decoded.size() == Sealer::kKeyBytes;
  Wipe(key);
  if (!ok) {
    Wipe(decoded);
    return absl::InvalidArgumentError(absl::StrCat(
        "config key '", key_name, "': the file must hold 32 bytes, raw or base64-encoded"));
  }
  return decoded;
}

absl::StatusOr<Sealer> MakeSealer(const Config& config, Logger& logger) {
  if (config.seal_key_file.empty()) {
    logger.Log(LogLevel::kInfo, "seal_key_random",
               {{"note",
                 "challenges are sealed with a per-process key; set seal_key_file to "
                 "share challenges across replicas or restarts"}});
    return Sealer::WithRandomKey();
  }
  absl::StatusOr<std::string> active = ReadSealKey("seal_key_file", config.seal_key_file);
  if (!active.ok()) return active.status();
  std::vector<std::string> accepted;
  for (std::size_t i = 0; i < config.seal_accepted_key_files.size(); ++i) {
    absl::StatusOr<std::string> key = ReadSealKey(absl::StrCat("seal_accepted_key_files[", i, "]"),
                                                  config.seal_accepted_key_files[i]);
    if (!key.ok()) {
      Wipe(*active);
      for (std::string& held : accepted) Wipe(held);
      return key.status();
    }
    accepted.push_back(*std::move(key));
  }
  return Sealer::Create(*std::move(active), std::move(accepted));
}

// The memory store, or Redis (which connects in the background: a Redis
// that is down at start only makes calls answer STORE_UNAVAILABLE).
absl::StatusOr<std::unique_ptr<StateStore>> MakeStore(const Config& config, Logger& logger) {
  if (!config.redis.enabled()) {
    return std::make_unique<MemoryStore>(RealClock(),
                                         static_cast<std::size_t>(config.memory_store_max_entries));
  }
  RedisStoreSettings settings;
  settings.address = config.redis.address;
  settings.database = config.redis.database;
  settings.key_prefix = config.redis.key_prefix;
  settings.connect_timeout = config.redis.connect_timeout;
  settings.command_timeout = config.redis.command_timeout;
  if (!config.redis.password_file.empty()) {
    std::optional<std::string> password = ReadFileContents(config.redis.password_file);
    if (!password) {
      return absl::InvalidArgumentError(
          absl::StrCat("config key 'store.redis.password_file': cannot read '",
                       config.redis.password_file, "'"));
    }
    settings.password = std::string(absl::StripTrailingAsciiWhitespace(*password));
    Wipe(*password);
  }
  absl::StatusOr<std::unique_ptr<RedisStore>> store =
      RedisStore::Create(std::move(settings), RealClock());
  if (!store.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config key 'store.redis': ", store.status().message()));
  }
  logger.Log(LogLevel::kInfo, "store", {{"kind", "redis"}, {"address", config.redis.address}});
  return std::unique_ptr<StateStore>(*std::move(store));
}

// Limits that keep one client from holding the server: streams per
// connection, pings, idle and old connections (docs/security.md).
void ApplyServerLimits(const Config& config, grpc::ServerBuilder& builder) {
  const auto millis = [](absl::Duration d) {
    return static_cast<int>(absl::ToInt64Milliseconds(d));
  };
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, config.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             millis(config.keepalive_min_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, millis(config.max_connection_idle));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, millis(config.max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             millis(config.shutdown_grace + absl::Seconds(10)));
  builder.SetMaxReceiveMessageSize(config.max_request_bytes);
}

absl::Duration LongestSiteCall(const Config& config) {
  absl::Duration longest = absl::ZeroDuration();
  for (const SiteEndpoint& site : config.sites) longest = std::max(longest, site.request_timeout);
  return longest;
}

HeldSessionSettings MakeHeldSessionSettings(const Config& config) {
  HeldSessionSettings settings;
  settings.idle_timeout = config.session_idle_timeout;
  settings.max_lifetime = config.session_max_lifetime;
  // Longer than any site call, so a refresh always ends inside its lease.
  settings.lease_ttl = LongestSiteCall(config) + absl::Seconds(30);
  return settings;
}

BrowserLoginSettings MakeBrowserLoginSettings(const Config& config) {
  BrowserLoginSettings settings;
  settings.default_site = config.default_site;
  settings.app_name = config.browser_app_name;
  settings.machine_id = config.browser_machine_id;
  if (settings.machine_id.empty()) {
    char host[256] = {};
    settings.machine_id = gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0'
                              ? std::string(host)
                              : std::string("credential-broker");
  }
  settings.poll_interval = config.browser_poll_interval;
  // A completion on another replica waits out the claim holder's site call.
  settings.result_wait = LongestSiteCall(config) + absl::Seconds(5);
  return settings;
}

LoginSettings MakeLoginSettings(const Config& config) {
  LoginSettings settings;
  settings.default_site = config.default_site;
  settings.challenge_lifetime = config.challenge_lifetime;
  settings.challenge_attempts = config.challenge_attempts;
  settings.challenges_per_person = config.challenges_per_person;
  settings.challenge_lock_ttl = LongestSiteCall(config) + absl::Seconds(30);
  return settings;
}

// The certificate, key and client CA are watched by gRPC's file watcher:
// re-read every tls.reload_interval_seconds, by path, so a renewal (or the
// kubelet's swap of a Secret's ..data link) is served to new handshakes while
// open connections carry on. A pair read mid-swap that does not match is
// skipped until the next look.
std::shared_ptr<grpc::ServerCredentials> ListenerCredentials(const Config& config) {
  if (!config.tls.enabled()) return grpc::InsecureServerCredentials();
  const std::string& client_ca = config.callers.client_ca_file;
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      config.tls.key_file, config.tls.cert_file, client_ca,
      static_cast<unsigned int>(absl::ToInt64Seconds(config.tls.reload_interval)));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  // Client certificates are checked when presented but not demanded by the
  // handshake, so that token-holding callers can use the same listener and a
  // caller without either gets CALLER_UNAUTHENTICATED rather than a broken
  // connection.
  if (!client_ca.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace

BrokerServer::BrokerServer(const Config& config, Logger& logger, Sealer sealer,
                           std::unique_ptr<StateStore> store)
    : config_(config),
      logger_(logger),
      sealer_(std::move(sealer)),
      loops_(config.site_call_threads),
      sites_(config.sites, loops_, clock_, logger),
      store_(std::move(store)),
      names_(*store_, sealer_, /*shared=*/config.redis.enabled()),
      budget_(*store_, names_, clock_,
              FailureBudgetSettings{config.max_failures, config.failure_window,
                                    config.per_address_max_failures,
                                    config.per_address_failure_window}),
      in_flight_(config.caller_max_in_flight),
      login_(MakeLoginSettings(config), sites_, *store_, budget_, sealer_, clock_, logger,
             &held_sessions_),
      caller_sessions_(config.default_site, sites_, clock_, logger),
      held_sessions_(MakeHeldSessionSettings(config), sites_, *store_, sealer_, clock_, scheduler_,
                     logger),
      exchange_(config.default_site, sites_, clock_, logger, &held_sessions_),
      browser_login_(MakeBrowserLoginSettings(config), sites_, *store_, sealer_, clock_, scheduler_,
                     logger, exchange_),
      policy_(config.policy_file),
      keyring_(config.keyring_dir.empty() ? nullptr
                                          : std::make_unique<Keyring>(config.keyring_dir)),
      token_cache_(
          clock_,
          TokenCacheSettings{config.script_token_min_validity, config.script_token_renew_after},
          &scheduler_),
      shared_tokens_(config.redis.enabled()
                         ? std::make_unique<SharedTokens>(
                               SharedTokenSettings{config.script_token_min_validity,
                                                   config.script_token_renew_after,
                                                   LongestSiteCall(config) + absl::Seconds(30)},
                               *store_, sealer_, clock_, scheduler_)
                         : nullptr),
      scripts_(ScriptSessionSettings{config.default_site, config.callers.enabled(),
                                     config.session_token_reuse},
               sites_, token_cache_, keyring_.get(), policy_, logger, shared_tokens_.get()),
      authorizer_(config.callers, policy_),
      service_(authorizer_, in_flight_,
               BrokerService::Flows{login_, caller_sessions_, held_sessions_, scripts_, exchange_,
                                    browser_login_, sites_},
               logger) {}

absl::Status BrokerServer::StartReloading() {
  if (!config_.policy_file.empty()) {
    if (absl::Status loaded = policy_.Reload(); !loaded.ok()) return loaded;
    const std::string directory = std::filesystem::path(config_.policy_file).parent_path().string();
    policy_watcher_ = std::make_unique<DirectoryWatcher>(directory.empty() ? "." : directory,
                                                         [this] { OnPolicyChanged(); });
    if (absl::Status watching = policy_watcher_->Start(); !watching.ok()) return watching;
  }
  if (keyring_) {
    absl::StatusOr<std::set<std::string>> loaded = keyring_->Reload();
    if (!loaded.ok()) return loaded.status();
    logger_.Log(LogLevel::kInfo, "keyring_loaded", {{"scripts", keyring_->size()}});
    keyring_watcher_ =
        std::make_unique<DirectoryWatcher>(config_.keyring_dir, [this] { OnKeyringChanged(); });
    if (absl::Status watching = keyring_watcher_->Start(); !watching.ok()) return watching;
  }
  return absl::OkStatus();
}

void BrokerServer::OnKeyringChanged() {
  absl::StatusOr<std::set<std::string>> changed = keyring_->Reload();
  if (!changed.ok()) {
    logger_.Log(LogLevel::kWarn, "keyring_reload_failed",
                {{"error", std::string(changed.status().message())}});
    return;
  }
  if (changed->empty()) return;
  // Tokens got with an old key go; the next request uses the new key.
  token_cache_.DropIf([&changed](const std::string& cache_key) {
    for (const std::string& script : *changed) {
      if (ScriptSessions::IsKeyringEntryOf(cache_key, script)) return true;
    }
    return false;
  });
  logger_.Log(LogLevel::kInfo, "keyring_reloaded",
              {{"scripts", keyring_->size()},
               {"changed", std::vector<std::string>(changed->begin(), changed->end())}});
}

void BrokerServer::OnPolicyChanged() {
  if (absl::Status loaded = policy_.Reload(); !loaded.ok()) {
    logger_.Log(LogLevel::kWarn, "policy_reload_failed",
                {{"error", std::string(loaded.message())}, {"kept", "the previous policy"}});
    return;
  }
  logger_.Log(LogLevel::kInfo, "policy_reloaded", {{"file", config_.policy_file}});
}

absl::StatusOr<std::unique_ptr<BrokerServer>> BrokerServer::Start(const Config& config,
                                                                  Logger& logger) {
  absl::StatusOr<Sealer> sealer = MakeSealer(config, logger);
  if (!sealer.ok()) return sealer.status();
  logger.Log(LogLevel::kInfo, "seal_keys",
             {{"active_key_id", sealer->active_key_id()},
              {"accepted_keys", config.seal_accepted_key_files.size()},
              {"locked_in_memory", sealer->keys_locked()}});
  absl::StatusOr<std::unique_ptr<StateStore>> store = MakeStore(config, logger);
  if (!store.ok()) return store.status();
  std::unique_ptr<BrokerServer> broker(
      new BrokerServer(config, logger, *std::move(sealer), *std::move(store)));
  if (absl::Status reloading = broker->StartReloading(); !reloading.ok()) return reloading;
  if (config.allow_anonymous_remote_callers && !config.callers.enabled()) {
    logger.Log(LogLevel::kWarn, "anonymous_remote_callers",
               {{"listen", config.listen},
                {"note",
                 "callers are not identified: anyone who reaches this address may use "
                 "every method"}});
  }

  if (config.tls.enabled()) {
    if (absl::Status pair = CheckKeyPair(config.tls.cert_file, config.tls.key_file); !pair.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("config key 'tls': ", pair.message()));
    }
  }
  if (absl::Status metrics = broker->StartMetrics(); !metrics.ok()) return metrics;

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.SetOption(ReflectionOption(config.reflection));
  if (broker->metrics_exposer_) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(std::make_unique<MetricsInterceptorFactory>());
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  builder.AddListeningPort(config.listen, ListenerCredentials(config), &broker->port_);
  builder.RegisterService(&broker->service_);
  ApplyServerLimits(config, builder);
  broker->server_ = builder.BuildAndStart();
  if (!broker->server_ || broker->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on '", config.listen,
                                               "' (address in use, or not an address here?)"));
  }
  if (!config.health_listen.empty()) {
    grpc::ServerBuilder health_builder;
    // Plaintext and for probes only: no reflection here, whatever the config.
    // gRPC refuses to build a server with no method of its own besides the
    // default health service; the generic service answers UNIMPLEMENTED to
    // every other method.
    health_builder.SetOption(ReflectionOption(false));
    health_builder.RegisterCallbackGenericService(&broker->health_unimplemented_);
    health_builder.AddListeningPort(config.health_listen, grpc::InsecureServerCredentials(),
                                    &broker->health_port_);
    broker->health_server_ = health_builder.BuildAndStart();
    if (!broker->health_server_ || broker->health_port_ == 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on health_listen '", config.health_listen, "'"));
    }
  }
  for (grpc::Server* server : {broker->server_.get(), broker->health_server_.get()}) {
    if (server == nullptr) continue;
    grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
    health->SetServingStatus(kServiceName, false);
    health->SetServingStatus("", true);
  }
  broker->WatchReadiness();
  broker->WatchCertificates();
  if (broker->metrics_exposer_) broker->RefreshChallengeCount();
  return broker;
}

absl::Status BrokerServer::StartMetrics() {
  if (config_.metrics_listen.empty()) return absl::OkStatus();
  try {
    // Two threads: a scrape is rare and quick, and a slow scraper must not
    // hold the only one.
    metrics_exposer_ = std::make_unique<prometheus::Exposer>(config_.metrics_listen, 2);
  } catch (const std::exception&) {
    return absl::UnavailableError(absl::StrCat("cannot listen on metrics_listen '",
                                               config_.metrics_listen,
                                               "' (address in use, or not an address here?)"));
  }
  metrics_exposer_->RegisterCollectable(Metrics::Get().registry());
  const std::vector<int> ports = metrics_exposer_->GetListeningPorts();
  metrics_port_ = ports.empty() ? 0 : ports.front();
  return absl::OkStatus();
}

void BrokerServer::RefreshChallengeCount() {
  if (stopping_) return;
  login_.CountOpenChallenges([](absl::StatusOr<std::size_t> open) {
    if (open.ok()) Metrics::Get().SetChallengesHeld(*open);
  });
  scheduler_.RunAfter(absl::Seconds(2), [this] { RefreshChallengeCount(); });
}

void BrokerServer::WatchCertificates() {
  if (stopping_ || !config_.tls.enabled()) return;
  for (const auto& [name, path] : {std::pair{"listener", config_.tls.cert_file},
                                   std::pair{"client_ca", config_.callers.client_ca_file}}) {
    if (path.empty()) continue;
    absl::StatusOr<absl::Time> expiry = EarliestExpiry(path);
    if (!expiry.ok()) {
      // Mid-swap, or a broken renewal: gRPC keeps serving what it has.
      logger_.Log(LogLevel::kWarn, "certificate_unreadable",
                  {{"certificate", name}, {"error", std::string(expiry.status().message())}});
      continue;
    }
    Metrics::Get().SetCertificateExpiry(name, *expiry - absl::Now());
    auto [seen, first] = certificate_expiry_.try_emplace(name, *expiry);
    if (first || seen->second != *expiry) {
      seen->second = *expiry;
      logger_.Log(
          LogLevel::kInfo, first ? "certificate_loaded" : "certificate_changed",
          {{"certificate", name},
           {"file", path},
           {"not_after", absl::FormatTime(absl::RFC3339_sec, *expiry, absl::UTCTimeZone())}});
    }
  }
  scheduler_.RunAfter(config_.tls.reload_interval, [this] { WatchCertificates(); });
}

void BrokerServer::WatchReadiness() {
  if (stopping_) return;
  const bool ready = store_->Reachable();
  Metrics::Get().SetStoreReachable(ready);
  if (ready != ready_.exchange(ready)) {
    for (grpc::Server* server : {server_.get(), health_server_.get()}) {
      if (server != nullptr) server->GetHealthCheckService()->SetServingStatus(kServiceName, ready);
    }
    logger_.Log(ready ? LogLevel::kInfo : LogLevel::kWarn, "readiness",
                {{"serving", ready}, {"store_reachable", ready}});
  }
  // Looked at often while not ready, so a replica whose Redis connects just
  // after the start says SERVING at once rather than at the next look.
  scheduler_.RunAfter(ready ? absl::Milliseconds(250) : absl::Milliseconds(10),
                      [this] { WatchReadiness(); });
}

BrokerServer::~BrokerServer() {
  if (server_) server_->Shutdown();
  if (health_server_) health_server_->Shutdown();
  loops_.Stop();
}

void BrokerServer::StopReporting() {
  stopping_ = true;
  // Shut down, the health services answer NOT_SERVING for every name and
  // ignore later updates.
  if (health_server_) health_server_->GetHealthCheckService()->Shutdown();
  server_->GetHealthCheckService()->Shutdown();
}

void BrokerServer::Shutdown(absl::Duration grace) {
  StopReporting();
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoSeconds(grace));
  if (health_server_) health_server_->Shutdown();
  loops_.Stop();
}

void BrokerServer::Wait() { server_->Wait(); }

}  // namespace credbroker
