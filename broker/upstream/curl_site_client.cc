// Requests go as a form body (never in the URL, where proxies log them); debug
// logs carry the grant, status and timing, never the body.
#include "broker/upstream/curl_site_client.h"

#include <curl/curl.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"
#include "broker/telemetry/metrics.h"
#include "broker/upstream/api3_answer.h"
#include "broker/upstream/launcher_answer.h"

namespace credbroker {
namespace {

constexpr char kTokenPath[] = "/api/v1/auth/access_token";
constexpr char kApi3Path[] = "/api3/json";
constexpr char kLauncherPath[] = "/internal_api/app_session_request";

std::string Escape(absl::string_view value) {
  char* escaped = curl_easy_escape(nullptr, value.data(), static_cast<int>(value.size()));
  if (!escaped) std::abort();
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

void AddField(std::string& body, absl::string_view name, absl::string_view value) {
  if (!body.empty()) body += '&';
  absl::StrAppend(&body, name, "=", Escape(value));
}

}  // namespace

std::string EncodeTokenForm(const TokenRequest& request) {
  std::string body;
  AddField(body, "grant_type", GrantTypeName(request.grant));
  switch (request.grant) {
    case GrantType::kPassword:
      AddField(body, "username", request.username);
      AddField(body, "password", request.password);
      if (!request.auth_token.empty()) AddField(body, "auth_token", request.auth_token);
      break;
    case GrantType::kClientCredentials:
      AddField(body, "client_id", request.script_name);
      AddField(body, "client_secret", request.script_key);
      break;
    case GrantType::kRefreshToken:
      AddField(body, "refresh_token", request.refresh_token);
      break;
    case GrantType::kSessionToken:
      AddField(body, "session_token", request.session_token);
      break;
  }
  const bool names_someone =
      request.grant == GrantType::kPassword || request.grant == GrantType::kClientCredentials;
  if (names_someone && !request.sudo_as_login.empty()) {
    AddField(body, "scope", absl::StrCat("sudo_as_login:", request.sudo_as_login));
  }
  if (!request.session_uuid.empty()) AddField(body, "session_uuid", request.session_uuid);
  return body;
}

CurlSiteClient::CurlSiteClient(std::vector<SiteEndpoint> sites, CurlLoops& loops,
                               const Clock& clock, Logger& logger)
    : sites_(std::move(sites)), loops_(loops), clock_(clock), logger_(logger) {
  for (std::size_t i = 0; i < sites_.size(); ++i) gates_.push_back(std::make_unique<Gate>());
}

void CurlSiteClient::Admit(std::size_t site_index, HttpRequest http, absl::Time deadline,
                           std::shared_ptr<CancelSignal> cancel, CurlMultiLoop::Callback done) {
  const SiteEndpoint& site = sites_[site_index];
  Gate& gate = *gates_[site_index];
  std::unique_lock<std::mutex> lock(gate.mu);
  if (gate.in_flight < site.max_concurrent_requests) {
    ++gate.in_flight;
    lock.unlock();
    return Launch(site_index, std::move(http), std::move(cancel), std::move(done));
  }
  if (static_cast<int>(gate.waiting.size()) >= site.max_queued_requests) {
    lock.unlock();
    HttpResult refused;
    refused.transport = MarkedNotProcessedBySite(WithRetryAfter(
        BrokerError(Reason::kUpstreamUnavailable,
                    "too many requests to this ShotGrid site are already waiting; try again"),
        absl::Seconds(1)));
    return done(std::move(refused));
  }
  const uint64_t ticket = gate.next_ticket++;
  gate.waiting.push_back(Gate::Waiting{ticket, std::move(http), deadline, std::move(done), cancel});
  lock.unlock();
  if (cancel) cancel->OnCancel([this, site_index, ticket] { Withdraw(site_index, ticket); });
}

void CurlSiteClient::Launch(std::size_t site_index, HttpRequest http,
                            std::shared_ptr<CancelSignal> cancel, CurlMultiLoop::Callback done) {
  const uint64_t id =
      loops_.Submit(std::move(http), [this, site_index, done = std::move(done)](HttpResult result) {
        done(std::move(result));
        Release(site_index);
      });
  if (cancel) cancel->OnCancel([this, id] { loops_.Cancel(id); });
}

void CurlSiteClient::Release(std::size_t site_index) {
  Gate& gate = *gates_[site_index];
  for (;;) {
    std::unique_lock<std::mutex> lock(gate.mu);
    if (gate.waiting.empty()) {
      --gate.in_flight;
      return;
    }
    Gate::Waiting next = std::move(gate.waiting.front());
    gate.waiting.pop_front();
    lock.unlock();
    // The place passes on; a request whose call has no time left gives it
    // to the one after.
    const absl::Duration left = next.deadline - clock_.Now();
    if (left > absl::ZeroDuration() && !(next.cancel && next.cancel->cancelled())) {
      next.http.total_timeout = std::min(next.http.total_timeout, left);
      next.http.connect_timeout = std::min(next.http.connect_timeout, left);
      return Launch(site_index, std::move(next.http), std::move(next.cancel), std::move(next.done));
    }
    HttpResult expired;
    expired.transport = MarkedNotProcessedBySite(
        BrokerError(Reason::kUpstreamUnavailable,
                    "the call ended while waiting for a free connection to the ShotGrid site"));
    next.done(std::move(expired));
  }
}

void CurlSiteClient::Withdraw(std::size_t site_index, uint64_t ticket) {
  Gate& gate = *gates_[site_index];
  CurlMultiLoop::Callback done;
  {
    std::lock_guard<std::mutex> lock(gate.mu);
    for (auto it = gate.waiting.begin(); it != gate.waiting.end(); ++it) {
      if (it->ticket != ticket) continue;
      done = std::move(it->done);
      gate.waiting.erase(it);
      break;
    }
  }
  if (!done) return;
  HttpResult cancelled;
  cancelled.transport = MarkedNotProcessedBySite(BrokerError(
      Reason::kUpstreamUnavailable, "the call was cancelled before it reached the ShotGrid site"));
  done(std::move(cancelled));
}

const SiteEndpoint* CurlSiteClient::Find(absl::string_view site) const {
  for (const SiteEndpoint& endpoint : sites_) {
    if (endpoint.name == site) return &endpoint;
  }
  return nullptr;
}

bool CurlSiteClient::HasSite(absl::string_view site) const { return Find(site) != nullptr; }

std::string CurlSiteClient::SiteUrl(absl::string_view site) const {
  const SiteEndpoint* endpoint = Find(site);
  return endpoint ? endpoint->base_url : std::string();
}

void CurlSiteClient::Record(const CallLabel& label, const HttpResult& result,
                            const absl::Status& outcome, absl::Time started) {
  // Every site call at debug; at warn when the site itself failed, so
  // operators see outages without turning on debug logs.
  const std::optional<Reason> reason = ReasonOf(outcome);
  const bool site_failed =
      reason == Reason::kUpstreamUnavailable || reason == Reason::kUpstreamProtocolError;
  const std::string outcome_name = outcome.ok() ? std::string("granted")
                                   : reason     ? std::string(ReasonName(*reason))
                                                : std::string("INTERNAL");
  const absl::Duration took = clock_.Now() - started;
  Metrics::Get().SiteRequest(label.site, label.name, outcome_name, took);
  const LogLevel level = site_failed ? LogLevel::kWarn : LogLevel::kDebug;
  if (!logger_.Enabled(level)) return;
  nlohmann::ordered_json fields = {{"site", label.site},
                                   {"grant_type", label.name},
                                   {"http_status", result.answer.http_status},
                                   {"site_request_id", result.site_request_id},
                                   {"session_uuid", label.session_uuid},
                                   {"latency_ms", absl::ToInt64Milliseconds(took)},
                                   {"outcome", outcome_name}};
  // Messages are written for people and hold no secrets (site_answer.cc,
  // curl_multi_loop.cc); they say why the site failed.
  if (site_failed) fields["detail"] = std::string(outcome.message());
  logger_.Log(level, "site_request", std::move(fields));
}

template <typename T>
void CurlSiteClient::Send(absl::string_view site, HttpRequest http, absl::Time deadline,
                          std::shared_ptr<CancelSignal> cancel, CallLabel label,
                          std::function<absl::StatusOr<T>(const SiteAnswer&)> read,
                          std::function<void(absl::StatusOr<T>)> done) {
  const SiteEndpoint* endpoint = Find(site);
  if (endpoint == nullptr) {
    return done(BrokerError(Reason::kUnknownSite, absl::StrCat("no site named '", site, "'")));
  }
  const std::size_t site_index = static_cast<std::size_t>(endpoint - sites_.data());
  const absl::Time now = clock_.Now();
  const absl::Duration budget = std::min(endpoint->request_timeout, deadline - now);
  if (budget <= absl::ZeroDuration()) {
    return done(MarkedNotProcessedBySite(
        BrokerError(Reason::kUpstreamUnavailable,
                    "the call's deadline left no time to reach the ShotGrid site")));
  }
  http.url = endpoint->base_url + http.url;
  http.headers.push_back("Accept: application/json");
  http.headers.push_back("User-Agent: credential-broker/1");
  http.ca_file = endpoint->ca_file;
  http.connect_timeout = std::min(endpoint->connect_timeout, budget);
  http.total_timeout = budget;
  Admit(site_index, std::move(http), deadline, std::move(cancel),
        [this, label = std::move(label), started = now, read = std::move(read),
         done = std::move(done)](HttpResult result) {
          absl::StatusOr<T> outcome =
              result.transport.ok() ? read(result.answer) : absl::StatusOr<T>(result.transport);
          Record(label, result, outcome.status(), started);
          done(std::move(outcome));
        });
}

void CurlSiteClient::RequestToken(absl::string_view site, const TokenRequest& request,
                                  absl::Time deadline, TokenCallback done) {
  const bool api3 = request.kind == TokenKind::kSessionToken;
  HttpRequest http;
  if (api3) {
    http.url = kApi3Path;
    http.body = EncodeGetSessionToken(request);
    http.headers = {"Content-Type: application/json"};
  } else {
    http.url = kTokenPath;
    http.body = EncodeTokenForm(request);
    http.headers = {"Content-Type: application/x-www-form-urlencoded"};
  }
  const AnswerContext context{request.grant, !request.auth_token.empty()};
  std::function<absl::StatusOr<TokenGrant>(const SiteAnswer&)> read =
      [context, api3](const SiteAnswer& answer) {
        return api3 ? MapApi3Answer(answer, context) : MapSiteAnswer(answer, context);
      };
  Send<TokenGrant>(
      site, std::move(http), deadline, request.cancel,
      CallLabel{std::string(site), SiteCallName(request.grant, request.kind), request.session_uuid},
      std::move(read), std::move(done));
}

void CurlSiteClient::StartLauncherRequest(absl::string_view site, const std::string& app_name,
                                          const std::string& machine_id, absl::Time deadline,
                                          std::shared_ptr<CancelSignal> cancel,
                                          LauncherRequestCallback done) {
  HttpRequest http;
  http.url = kLauncherPath;
  AddField(http.body, "appName", app_name);
  AddField(http.body, "machineId", machine_id);
  http.headers = {"Content-Type: application/x-www-form-urlencoded"};
  Send<LauncherRequest>(site, std::move(http), deadline, std::move(cancel),
                        CallLabel{std::string(site), "app_session_request", ""},
                        &MapLauncherCreated, std::move(done));
}

void CurlSiteClient::PollLauncherRequest(absl::string_view site, const std::string& site_request_id,
                                         absl::Time deadline, std::shared_ptr<CancelSignal> cancel,
                                         LauncherStateCallback done) {
  // The id came from the site's own answer and was checked there; checked
  // again because it goes into the path.
  if (!IsPlausibleLauncherId(site_request_id)) {
    return done(SiteProtocolError("the app session launcher's request id is unusable"));
  }
  HttpRequest http;
  http.url = absl::StrCat(kLauncherPath, "/", site_request_id);
  http.method = "PUT";
  http.headers = {"Content-Type: application/x-www-form-urlencoded"};
  Send<LauncherState>(site, std::move(http), deadline, std::move(cancel),
                      CallLabel{std::string(site), "app_session_poll", ""}, &MapLauncherPoll,
                      std::move(done));
}

}  // namespace credbroker
