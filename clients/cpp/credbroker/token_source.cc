// Single-flight token caching: the first caller that finds the token stale
// calls the broker with the lock released; callers arriving meanwhile wait for
// that call's outcome (the new token, or its error) instead of calling again.
#include "credbroker/token_source.h"

#include <algorithm>
#include <stdexcept>

#include "credbroker/broker_error.h"
#include "credbroker/call_context.h"
#include "credbroker/login.h"

namespace credbroker::client {
namespace detail {

const std::string& CredentialOf(const v1::Session& session) {
  return session.session_token().empty() ? session.access_token() : session.session_token();
}

bool IsFresh(const v1::Session& session, std::chrono::seconds margin) {
  if (!session.session_token().empty()) return true;
  return !session.access_token().empty() &&
         ToTimePoint(session.expire_time()) - std::chrono::system_clock::now() > margin;
}

v1::Session Merged(const v1::Session& current, v1::Session fetched) {
  if (fetched.principal().user_login().empty() && fetched.principal().script_name().empty()) {
    *fetched.mutable_principal() = current.principal();
  }
  if (fetched.site().empty()) fetched.set_site(current.site());
  if (fetched.site_url().empty()) fetched.set_site_url(current.site_url());
  if (fetched.refresh_token().empty()) fetched.set_refresh_token(current.refresh_token());
  return fetched;
}

v1::IssueScriptSessionRequest ScriptSessionRequest(const std::string& script_name,
                                                   const std::string& script_key,
                                                   const ScriptOptions& script,
                                                   const std::string& rejected) {
  v1::IssueScriptSessionRequest request;
  request.set_site(script.site);
  request.set_script_name(script_name);
  request.set_script_key(script_key);
  request.set_sudo_as_login(script.sudo_as_login);
  request.set_kind(script.kind);
  request.set_rejected_token(rejected);
  return request;
}

v1::Session WithAccessToken(v1::Session current, const v1::AccessToken& answer) {
  current.set_access_token(answer.access_token());
  current.set_token_type(answer.token_type());
  *current.mutable_expire_time() = answer.expire_time();
  return current;
}

v1::Session WithRefreshedToken(v1::Session current, const v1::Session& answer) {
  current.set_access_token(answer.access_token());
  current.set_token_type(answer.token_type());
  *current.mutable_expire_time() = answer.expire_time();
  return current;
}

v1::GetAccessTokenRequest HeldTokenRequest(const std::string& session_id,
                                           std::chrono::seconds min_validity) {
  v1::GetAccessTokenRequest request;
  request.set_session_id(session_id);
  request.mutable_min_validity()->set_seconds(min_validity.count());
  return request;
}

v1::RefreshSessionRequest HeldRefreshRequest(const std::string& session_id) {
  v1::RefreshSessionRequest request;
  request.set_session_id(session_id);
  return request;
}

TokenCache::TokenCache(TokenSourceOptions options, Fetch fetch)
    : options_(std::move(options)), fetch_(std::move(fetch)) {}

void TokenCache::Set(v1::Session session) {
  std::lock_guard<std::mutex> lock(mutex_);
  session_ = std::move(session);
  has_session_ = true;
}

void TokenCache::Invalidate() {
  std::lock_guard<std::mutex> lock(mutex_);
  session_.clear_access_token();
  session_.clear_session_token();
  ++invalidations_;
}

void TokenCache::Invalidate(const std::string& token) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (token.empty() || token != CredentialOf(session_)) return;
  rejected_ = token;
  session_.clear_access_token();
  session_.clear_session_token();
  ++invalidations_;
}

v1::Session TokenCache::Current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return session_;
}

std::string TokenCache::Token() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (has_session_ && IsFresh(session_, options_.margin)) return CredentialOf(session_);
    if (!in_flight_) break;
    const uint64_t flight = flights_;
    done_.wait(lock, [&] { return flights_ != flight; });
    if (last_error_) std::rethrow_exception(last_error_);
    // Just fetched: hand it out even if the site's lifetime is below the margin.
    if (has_session_ && IsFresh(session_, std::chrono::seconds(0))) return CredentialOf(session_);
  }
  in_flight_ = true;
  const v1::Session current = session_;
  const std::string rejected = rejected_;
  const uint64_t invalidations = invalidations_;
  lock.unlock();

  v1::Session fetched;
  std::exception_ptr error;
  try {
    fetched = Merged(current, fetch_(current, rejected));
  } catch (...) {
    error = std::current_exception();
  }

  lock.lock();
  in_flight_ = false;
  ++flights_;
  last_error_ = error;
  if (!error) {
    session_ = fetched;
    has_session_ = true;
    // Reported; the broker replaced it.
    if (rejected_ == rejected) rejected_.clear();
  }
  // Invalidated while in flight: this answer may predate the reason for the
  // invalidation, so it goes to this flight's callers only.
  const std::string token = CredentialOf(fetched);
  if (!error && invalidations_ != invalidations) {
    session_.clear_access_token();
    session_.clear_session_token();
  }
  lock.unlock();
  done_.notify_all();
  if (error) std::rethrow_exception(error);
  if (options_.on_update) options_.on_update(fetched);
  return token;
}

}  // namespace detail

namespace {

using detail::NewCallContext;

}  // namespace

SessionTokenSource::SessionTokenSource(std::shared_ptr<v1::CredentialBroker::StubInterface> stub,
                                       v1::Session session, TokenSourceOptions options)
    : stub_(std::move(stub)), options_(options) {
  if (!stub_) throw std::invalid_argument("SessionTokenSource needs a stub");
  if (session.refresh_token().empty()) {
    throw std::invalid_argument("SessionTokenSource needs a session with a refresh token");
  }
  auto* stub_ptr = stub_.get();
  const std::chrono::milliseconds timeout = options.timeout;
  cache_ = std::make_unique<detail::TokenCache>(
      std::move(options), [stub_ptr, timeout](const v1::Session& current, const std::string&) {
        v1::RefreshSessionRequest request;
        request.set_site(current.site());
        request.set_refresh_token(current.refresh_token());
        v1::Session fresh;
        ThrowIfError(stub_ptr->RefreshSession(NewCallContext(timeout).get(), request, &fresh));
        return fresh;
      });
  cache_->Set(std::move(session));
}

std::string SessionTokenSource::AccessToken() { return cache_->Token(); }

void SessionTokenSource::Invalidate(const std::string& token) { cache_->Invalidate(token); }

std::string SessionTokenSource::RefreshToken() const { return cache_->Current().refresh_token(); }

v1::Session SessionTokenSource::CurrentSession() const { return cache_->Current(); }

void SessionTokenSource::Revoke() {
  const v1::Session current = cache_->Current();
  v1::RevokeSessionRequest request;
  request.set_refresh_token(current.refresh_token());
  request.set_site(current.site());
  v1::RevokeSessionResponse response;
  ThrowIfError(stub_->RevokeSession(NewCallContext(options_.timeout).get(), request, &response));
}

ScriptTokenSource::ScriptTokenSource(std::shared_ptr<v1::CredentialBroker::StubInterface> stub,
                                     std::string script_name, std::string script_key,
                                     ScriptOptions script, TokenSourceOptions options) {
  if (!stub) throw std::invalid_argument("ScriptTokenSource needs a stub");
  const std::chrono::milliseconds timeout = options.timeout;
  cache_ = std::make_unique<detail::TokenCache>(
      std::move(options),
      [stub = std::move(stub), name = std::move(script_name), key = std::move(script_key),
       script = std::move(script), timeout](const v1::Session&, const std::string& rejected) {
        const v1::IssueScriptSessionRequest request =
            detail::ScriptSessionRequest(name, key, script, rejected);
        v1::Session session;
        ThrowIfError(stub->IssueScriptSession(NewCallContext(timeout).get(), request, &session));
        return session;
      });
}

HeldSessionTokenSource::HeldSessionTokenSource(
    std::shared_ptr<v1::CredentialBroker::StubInterface> stub, std::string session_id,
    std::chrono::seconds min_validity, std::chrono::milliseconds timeout)
    : stub_(std::move(stub)), session_id_(std::move(session_id)), timeout_(timeout) {
  if (!stub_) throw std::invalid_argument("HeldSessionTokenSource needs a stub");
  if (session_id_.empty()) throw std::invalid_argument("HeldSessionTokenSource needs a session id");
  // Above the broker's cap every cached token would look stale and each call
  // would go to the broker.
  min_validity = std::min(min_validity, kMaxMinValidity);
  TokenSourceOptions options;
  options.margin = min_validity;
  options.timeout = timeout;
  auto* stub_ptr = stub_.get();
  cache_ = std::make_unique<detail::TokenCache>(
      std::move(options), [stub_ptr, id = session_id_, min_validity, timeout](
                              const v1::Session& current, const std::string& rejected) {
        if (!rejected.empty()) {
          v1::Session refreshed;
          ThrowIfError(stub_ptr->RefreshSession(NewCallContext(timeout).get(),
                                                detail::HeldRefreshRequest(id), &refreshed));
          return detail::WithRefreshedToken(current, refreshed);
        }
        v1::AccessToken answer;
        ThrowIfError(stub_ptr->GetAccessToken(NewCallContext(timeout).get(),
                                              detail::HeldTokenRequest(id, min_validity), &answer));
        return detail::WithAccessToken(current, answer);
      });
  v1::Session held;
  held.set_session_id(session_id_);
  cache_->Set(std::move(held));
}

std::string HeldSessionTokenSource::Token() { return cache_->Token(); }

void HeldSessionTokenSource::Invalidate() { cache_->Invalidate(); }

void HeldSessionTokenSource::Invalidate(const std::string& token) { cache_->Invalidate(token); }

void HeldSessionTokenSource::Revoke() {
  v1::RevokeSessionRequest request;
  request.set_session_id(session_id_);
  v1::RevokeSessionResponse response;
  ThrowIfError(stub_->RevokeSession(NewCallContext(timeout_).get(), request, &response));
  cache_->Invalidate();
}

std::string ScriptTokenSource::Token() { return cache_->Token(); }

void ScriptTokenSource::Invalidate(const std::string& token) { cache_->Invalidate(token); }

v1::Session ScriptTokenSource::CurrentSession() const { return cache_->Current(); }

}  // namespace credbroker::client
