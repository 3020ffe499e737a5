// Requests go as a form body (never in the URL, where proxies log them); debug
// logs carry the grant, status and timing, never the body.
#include "broker/upstream/curl_site_client.h"

#include <curl/curl.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"
#include "broker/telemetry/metrics.h"

namespace credbroker {
namespace {

constexpr char kTokenPath[] = "/api/v1/auth/access_token";

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

absl::string_view GrantTypeName(GrantType grant) {
  switch (grant) {
    case GrantType::kPassword:
      return "password";
    case GrantType::kClientCredentials:
      return "client_credentials";
    case GrantType::kRefreshToken:
      return "refresh_token";
  }
  return "password";
}

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
  }
  if (request.grant != GrantType::kRefreshToken && !request.sudo_as_login.empty()) {
    AddField(body, "scope", absl::StrCat("sudo_as_login:", request.sudo_as_login));
  }
  if (!request.session_uuid.empty()) AddField(body, "session_uuid", request.session_uuid);
  return body;
}

CurlSiteClient::CurlSiteClient(std::vector<SiteEndpoint> sites, CurlMultiLoop& loop,
                               const Clock& clock, Logger& logger)
    : sites_(std::move(sites)), loop_(loop), clock_(clock), logger_(logger) {
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
      loop_.Submit(std::move(http), [this, site_index, done = std::move(done)](HttpResult result) {
        done(std::move(result));
        Release(site_index);
      });
  if (cancel) cancel->OnCancel([this, id] { loop_.Cancel(id); });
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

void CurlSiteClient::RequestToken(absl::string_view site, const TokenRequest& request,
                                  absl::Time deadline, TokenCallback done) {
  const SiteEndpoint* endpoint = Find(site);
  if (endpoint == nullptr) {
    done(BrokerError(Reason::kUnknownSite, absl::StrCat("no site named '", site, "'")));
    return;
  }
  const std::size_t site_index = static_cast<std::size_t>(endpoint - sites_.data());
  const absl::Time now = clock_.Now();
  const absl::Duration budget = std::min(endpoint->request_timeout, deadline - now);
  if (budget <= absl::ZeroDuration()) {
    done(MarkedNotProcessedBySite(
        BrokerError(Reason::kUpstreamUnavailable,
                    "the call's deadline left no time to reach the ShotGrid site")));
    return;
  }

  HttpRequest http;
  http.url = endpoint->base_url + kTokenPath;
  http.body = EncodeTokenForm(request);
  http.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json",
                  "User-Agent: credential-broker/1"};
  http.ca_file = endpoint->ca_file;
  http.connect_timeout = std::min(endpoint->connect_timeout, budget);
  http.total_timeout = budget;

  const AnswerContext context{request.grant, !request.auth_token.empty()};
  std::string site_name(site);
  std::string session_uuid = request.session_uuid;
  Admit(site_index, std::move(http), deadline, request.cancel,
        [this, context, site_name, session_uuid, started = now,
         done = std::move(done)](HttpResult result) {
          absl::StatusOr<TokenGrant> grant =
              result.transport.ok() ? MapSiteAnswer(result.answer, context) : result.transport;
          // Every site call at debug; at warn when the site itself failed, so
          // operators see outages without turning on debug logs.
          const std::optional<Reason> reason = ReasonOf(grant.status());
          const bool site_failed =
              reason == Reason::kUpstreamUnavailable || reason == Reason::kUpstreamProtocolError;
          const std::string outcome = grant.ok() ? std::string("granted")
                                      : reason   ? std::string(ReasonName(*reason))
                                                 : std::string("INTERNAL");
          const absl::Duration took = clock_.Now() - started;
          Metrics::Get().SiteRequest(site_name, GrantTypeName(context.grant), outcome, took);
          const LogLevel level = site_failed ? LogLevel::kWarn : LogLevel::kDebug;
          if (logger_.Enabled(level)) {
            nlohmann::ordered_json fields = {{"site", site_name},
                                             {"grant_type", GrantTypeName(context.grant)},
                                             {"http_status", result.answer.http_status},
                                             {"site_request_id", result.site_request_id},
                                             {"session_uuid", session_uuid},
                                             {"latency_ms", absl::ToInt64Milliseconds(took)},
                                             {"outcome", outcome}};
            // Messages are written for people and hold no secrets (site_answer.cc,
            // curl_multi_loop.cc); they say why the site failed.
            if (site_failed) fields["detail"] = std::string(grant.status().message());
            logger_.Log(level, "site_request", std::move(fields));
          }
          done(std::move(grant));
        });
}

}  // namespace credbroker
