// Members of a window are "inflight:<id>" while their call is at the site and
// "failed:<id>" once it counted. An inflight place lives a whole window, so a
// replica that dies mid-call leaves behind a counted failure, never a free
// guess.
#include "broker/limits/failure_budget.h"

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"
#include "broker/common/random.h"
#include "broker/telemetry/metrics.h"

namespace credbroker {
namespace {

constexpr char kInFlight[] = "inflight:";
constexpr char kFailed[] = "failed:";
// How soon to try again when the budget is held by calls still at the site.
constexpr absl::Duration kInFlightRetry = absl::Seconds(1);

}  // namespace

std::string FailureBudget::PersonName(absl::string_view username) const {
  return names_.Digest("user", absl::AsciiStrToLower(username));
}

bool FailureBudget::CountsAtSite(const absl::Status& site_answer) {
  if (site_answer.ok()) return false;
  if (NotProcessedBySite(site_answer)) return false;
  return !HasReason(site_answer, Reason::kSecondFactorRequired) &&
         !HasReason(site_answer, Reason::kSsoRequired);
}

absl::Status FailureBudget::Refusal(const WindowState& window, absl::string_view who) const {
  absl::Duration retry_after = absl::Seconds(1);
  bool in_flight = false;
  for (const WindowMember& member : window.members) {
    in_flight = in_flight || absl::StartsWith(member.name, kInFlight);
  }
  if (in_flight) {
    retry_after = kInFlightRetry;
  } else if (!window.members.empty()) {
    retry_after = window.members.front().expires - clock_.Now();
  }
  return WithRetryAfter(
      BrokerError(Reason::kTooManyAttempts,
                  absl::StrCat("too many failed logins ", who, "; wait before trying again")),
      retry_after);
}

void FailureBudget::Reserve(absl::string_view site, absl::string_view username,
                            absl::string_view address, ReserveCallback done) {
  names_.Ready([this, site = std::string(site), username = std::string(username),
                address = std::string(address),
                done = std::move(done)](absl::Status ready) mutable {
    if (!ready.ok()) return done(ready);
    ReserveNamed(site, username, address, std::move(done));
  });
}

void FailureBudget::ReserveNamed(const std::string& site, const std::string& username,
                                 const std::string& address, ReserveCallback done) {
  auto reservation = std::make_shared<FailureReservation>();
  reservation->person_key = absl::StrCat("failures/user/", site, "/", PersonName(username));
  reservation->address_key = absl::StrCat("failures/address/", names_.Digest("address", address));
  reservation->id = RandomHex(12);
  const std::string member = absl::StrCat(kInFlight, reservation->id);
  store_.ReserveInWindow(
      reservation->person_key, member, settings_.max_failures, settings_.window,
      /*evict_oldest=*/false,
      [this, reservation, member, done = std::move(done)](absl::StatusOr<WindowState> person) {
        if (!person.ok()) return done(person.status());
        if (!person->added) {
          Metrics::Get().FailureBudgetRefusal("person");
          return done(Refusal(*person, "for this user"));
        }
        // The address counts answered failures only: a web backend's many
        // users log in at once from one address, and each of them is held
        // to their own budget above.
        CheckAddress(reservation, member, done);
      });
}

void FailureBudget::CheckAddress(std::shared_ptr<FailureReservation> reservation,
                                 std::string member, ReserveCallback done) {
  // Counted, not read: the members only tell a refused caller when to come
  // back, and a busy backend's address may hold many.
  store_.CountWindow(reservation->address_key, [this, reservation, member,
                                                done](absl::StatusOr<std::size_t> failures) {
    if (failures.ok() && static_cast<int>(*failures) < settings_.per_address_max_failures) {
      return done(*reservation);
    }
    // Give the person's place back before answering.
    auto refuse = [this, reservation, member, done](absl::Status refusal) {
      store_.RemoveFromWindow(reservation->person_key, member,
                              [done, refusal](absl::StatusOr<WindowState>) { done(refusal); });
    };
    if (!failures.ok()) return refuse(failures.status());
    Metrics::Get().FailureBudgetRefusal("address");
    store_.ReadWindow(
        reservation->address_key, [this, refuse](absl::StatusOr<WindowState> address) {
          refuse(address.ok() ? Refusal(*address, "from this address") : address.status());
        });
  });
}

void FailureBudget::Settle(const FailureReservation& reservation, const absl::Status& site_answer,
                           SettleCallback done) {
  if (CountsAtSite(site_answer)) return Commit(reservation, std::move(done));
  Refund(reservation, std::move(done));
}

void FailureBudget::Refund(const FailureReservation& reservation, SettleCallback done) {
  // Only the person's window holds the place: the address window is read at
  // reservation and written only by Commit.
  store_.RemoveFromWindow(reservation.person_key, absl::StrCat(kInFlight, reservation.id),
                          [this, done = std::move(done)](absl::StatusOr<WindowState> person) {
                            if (!person.ok()) return done(person.status());
                            done(settings_.max_failures - static_cast<int>(person->size));
                          });
}

void FailureBudget::Commit(const FailureReservation& reservation, SettleCallback done) {
  const std::string reserved = absl::StrCat(kInFlight, reservation.id);
  const std::string failed = absl::StrCat(kFailed, reservation.id);
  // The window runs from the answer, which came after the site counted.
  store_.ReplaceInWindow(
      reservation.address_key, reserved, failed, settings_.per_address_window,
      [this, reservation, reserved, failed, done = std::move(done)](absl::StatusOr<WindowState>) {
        store_.ReplaceInWindow(
            reservation.person_key, reserved, failed, settings_.window,
            [this, done](absl::StatusOr<WindowState> person) {
              if (!person.ok()) return done(person.status());
              done(std::max(0, settings_.max_failures - static_cast<int>(person->members.size())));
            });
      });
}

}  // namespace credbroker
