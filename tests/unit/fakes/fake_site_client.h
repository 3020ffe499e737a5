// A scripted SiteClient. Every request is recorded (with its site and
// deadline). Each request consumes the next scripted step: either an answer,
// delivered at once on the caller's thread, or a hold, which parks the
// callback until the test releases it. Holding lets tests reproduce "a second
// submit while the first is still at the site" deterministically, with no
// threads and no sleeps.
#pragma once

#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/common/errors.h"
#include "broker/upstream/site_client.h"
#include "gtest/gtest.h"

namespace credbroker::testing {

struct RecordedRequest {
  std::string site;
  TokenRequest request;
  absl::Time deadline;
};

class FakeSiteClient final : public SiteClient {
 public:
  explicit FakeSiteClient(std::vector<std::string> sites) : sites_(sites.begin(), sites.end()) {}

  // ---- scripting ----

  // The next unscripted request gets `answer` at once.
  void QueueAnswer(absl::StatusOr<TokenGrant> answer) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(Step{false, std::move(answer)});
  }
  // The next unscripted request is parked until ReleaseHeld().
  void QueueHold() {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(Step{true, absl::InternalError("held")});
  }
  // Answers every request that finds the script empty (instead of failing).
  void AnswerAlways(absl::StatusOr<TokenGrant> answer) {
    std::lock_guard<std::mutex> lock(mu_);
    fallback_ = std::move(answer);
    has_fallback_ = true;
  }

  // Answers the oldest parked request with `answer`, on this thread.
  void ReleaseHeld(absl::StatusOr<TokenGrant> answer) {
    TokenCallback done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (held_.empty()) {
        ADD_FAILURE() << "FakeSiteClient::ReleaseHeld: nothing is held";
        return;
      }
      done = std::move(held_.front());
      held_.pop_front();
    }
    done(std::move(answer));
  }

  // ---- inspection ----

  std::vector<RecordedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::size_t request_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }
  std::size_t held_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }

  // ---- SiteClient ----

  bool HasSite(absl::string_view site) const override {
    return sites_.count(std::string(site)) > 0;
  }

  void RequestToken(absl::string_view site, const TokenRequest& request, absl::Time deadline,
                    TokenCallback done) override {
    absl::StatusOr<TokenGrant> answer = absl::InternalError("unset");
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(RecordedRequest{std::string(site), request, deadline});
      if (script_.empty()) {
        if (!has_fallback_) {
          ADD_FAILURE() << "FakeSiteClient: unscripted request #" << requests_.size()
                        << " to site '" << site << "'";
          answer = BrokerError(Reason::kUpstreamProtocolError, "unscripted fake site request");
        } else {
          answer = fallback_;
        }
      } else {
        Step step = std::move(script_.front());
        script_.pop_front();
        if (step.hold) {
          held_.push_back(std::move(done));
          return;
        }
        answer = std::move(step.answer);
      }
    }
    done(std::move(answer));
  }

  // ---- answers a site gives, as the real client maps them ----

  static TokenGrant Grant(std::string access_token, std::string refresh_token = "refresh-1",
                          absl::Duration expires_in = absl::Seconds(600)) {
    TokenGrant grant;
    grant.access_token = std::move(access_token);
    grant.token_type = "Bearer";
    grant.expires_in = expires_in;
    grant.refresh_token = std::move(refresh_token);
    return grant;
  }
  static absl::Status SecondFactorRequired() {
    return BrokerError(Reason::kSecondFactorRequired, "the site asks for a two-factor code");
  }
  static absl::Status WrongPassword() {
    return BrokerError(Reason::kInvalidCredentials, "wrong username or password");
  }
  static absl::Status WrongCode() {
    return BrokerError(Reason::kInvalidSecondFactor, "the two-factor code is wrong");
  }
  // A 503 from the site or its proxy: nothing was counted.
  static absl::Status Unavailable() {
    return MarkedNotProcessedBySite(
        BrokerError(Reason::kUpstreamUnavailable, "the ShotGrid site is unavailable"));
  }
  // No answer after the request left: the site may have counted it.
  static absl::Status TimedOutAfterSending() {
    return BrokerError(Reason::kUpstreamUnavailable, "the ShotGrid site did not answer in time");
  }
  static absl::Status SsoRequired() {
    return BrokerError(Reason::kSsoRequired, "this site signs people in through SSO");
  }

 private:
  struct Step {
    bool hold = false;
    absl::StatusOr<TokenGrant> answer;
  };

  const std::set<std::string> sites_;
  mutable std::mutex mu_;
  std::deque<Step> script_;
  std::deque<TokenCallback> held_;
  std::vector<RecordedRequest> requests_;
  bool has_fallback_ = false;
  absl::StatusOr<TokenGrant> fallback_ = absl::InternalError("no fallback");
};

}  // namespace credbroker::testing
