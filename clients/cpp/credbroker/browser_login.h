// BrowserLogin(): a person's login approved in a browser, through ShotGrid's
// app session launcher (what Toolkit uses on SSO and Autodesk Identity sites,
// and which works on password sites too): BeginBrowserLogin answers the page
// the person opens; CompleteBrowserLogin waits while the broker polls the
// site, and is asked again on APPROVAL_PENDING until the request expires.
// The single steps are here too, for callers that run their own loop (a web
// backend that shows the page and completes on a later request).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "credbroker/broker_error.h"
#include "credbroker/v1/broker.grpc.pb.h"

namespace credbroker::client {

// What BeginBrowserLogin answered.
struct BrowserApproval {
  // The broker's id for this login (not the site's), for CompleteBrowserLogin.
  std::string request_id;
  // The page the person opens to approve (or reject) the sign-in.
  std::string approval_url;
  // After this the request is gone (180 s after the start at ShotGrid).
  std::chrono::system_clock::time_point expire_time;
};

// Stops a BrowserLogin() from another thread (a Ctrl-C watcher, a Cancel
// button): the call in flight is cancelled at once and BrowserLogin() throws
// BrokerError with code CANCELLED. Once cancelled it stays cancelled.
class LoginCancellation {
 public:
  void Cancel();
  bool cancelled() const;

 private:
  friend class CancellableWait;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool cancelled_ = false;
  grpc::ClientContext* in_flight_ = nullptr;
};

struct BrowserLoginOptions {
  // Empty: the broker's default site.
  std::string site;
  // Shown to the person on the approval page. Empty: the broker's name.
  std::string app_name;
  // Shown to the person on the approval page. Empty: the broker host's name.
  std::string machine_id;
  // CREDENTIAL_KIND_SESSION_TOKEN: the Session carries session_token (caller
  // custody only); REST: access and refresh tokens, or session_id with
  // TOKEN_CUSTODY_BROKER.
  v1::CredentialKind kind = v1::CREDENTIAL_KIND_REST;
  v1::TokenCustody custody = v1::TOKEN_CUSTODY_CALLER;
  // BrowserLogin() gives up after this long even if the request has not
  // expired yet. Zero: waits until the request's expire_time.
  std::chrono::milliseconds max_wait{0};
  // Deadline of BeginBrowserLogin; each CompleteBrowserLogin gets its wait
  // plus this.
  std::chrono::milliseconds timeout = std::chrono::seconds(10);
  // Optional: lets another thread stop the wait.
  LoginCancellation* cancellation = nullptr;
};

// The person's part: show (or open) approval.approval_url. Called once,
// before the wait. May throw to abandon the login; the exception propagates.
using ApprovalPresenter = std::function<void(const BrowserApproval& approval)>;

// BeginBrowserLogin, `present`, then CompleteBrowserLogin until the person
// approves. Throws BrokerError:
//   APPROVAL_PENDING      nobody approved before the request expired (or
//                         before max_wait ended);
//   CHALLENGE_NOT_FOUND   the person rejected it, or it expired at the site;
//   CANCELLED (no reason) options.cancellation was cancelled;
//   and any other failure of the calls (UNKNOWN_SITE, INVALID_REQUEST, ...).
v1::Session BrowserLogin(v1::CredentialBroker::StubInterface& stub,
                         const ApprovalPresenter& present, const BrowserLoginOptions& options = {});

// BeginBrowserLogin alone (options.max_wait and cancellation unused).
BrowserApproval BeginBrowserLogin(v1::CredentialBroker::StubInterface& stub,
                                  const BrowserLoginOptions& options = {});

// One CompleteBrowserLogin: the broker polls the site for up to `wait` (at
// most 60 s; zero asks the site once and answers at once). Throws
// BrokerError APPROVAL_PENDING (with retry_after) while not approved.
v1::Session CompleteBrowserLogin(v1::CredentialBroker::StubInterface& stub,
                                 const std::string& request_id,
                                 std::chrono::milliseconds wait = std::chrono::seconds(30),
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace credbroker::client
